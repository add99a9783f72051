using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Segmenter.Runtime;
using Segmenter.Training.Evaluation;

namespace Segmenter.Training.Records;

/// <summary>
/// A training run's record in its output folder, in the PyTorch engine's format: <c>config.json</c> (what the run
/// was: every resolved option, the spec, seed, engine, device, versions and machine), written atomically when
/// the run starts, and <c>metrics.jsonl</c>, one JSON object per line — <c>{"step","loss","lr","images_per_s"}</c>
/// for a logged step and <c>{"step","aAcc","mIoU","mAcc","IoU":{class: IoU}}</c> for an evaluation. Values that
/// are not finite are written as null. A resumed run keeps the lines up to its checkpoint's step and appends.
/// </summary>
public sealed class RunRecord
{
    /// <summary>The run description's file name.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The metrics log's file name.</summary>
    public const string MetricsFile = "metrics.jsonl";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A record in <paramref name="directory"/>.</summary>
    public RunRecord(string directory) => Directory = directory;

    /// <summary>The run's output folder.</summary>
    public string Directory { get; }

    /// <summary>The path of config.json.</summary>
    public string ConfigPath => Path.Combine(Directory, ConfigFile);

    /// <summary>The path of metrics.jsonl.</summary>
    public string MetricsPath => Path.Combine(Directory, MetricsFile);

    /// <summary>Writes config.json (atomically).</summary>
    public void WriteConfig(JsonObject config) => AtomicFile.WriteText(ConfigPath, config.ToJsonString(Indented) + "\n");

    /// <summary>
    /// Starts the log at <paramref name="step"/>: a new run (step 0) starts an empty metrics.jsonl; a resumed run keeps
    /// the lines of steps up to <paramref name="step"/> (lines logged after its checkpoint are dropped, as that work is redone).
    /// </summary>
    public void Start(int step)
    {
        var kept = step == 0 ? new List<string>() : ReadLines(MetricsPath).Where(l => StepOf(l) is { } s && s <= step).ToList();
        AtomicFile.WriteText(MetricsPath, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>Appends a training step's line.</summary>
    public void Step(int step, double loss, double learningRate, double imagesPerSecond) =>
        Append(new JsonObject { ["step"] = step, ["loss"] = Finite(loss), ["lr"] = Finite(learningRate), ["images_per_s"] = Finite(imagesPerSecond) });

    /// <summary>Appends an evaluation's line, with each class's IoU by name.</summary>
    public void Evaluation(int step, SegmentationMetrics metrics)
    {
        var perClass = new JsonObject();
        foreach (var c in metrics.Classes) perClass[c.Name] = Finite(c.IoU);
        Append(new JsonObject
        {
            ["step"] = step, ["aAcc"] = Finite(metrics.PixelAccuracy), ["mIoU"] = Finite(metrics.MeanIoU), ["mAcc"] = Finite(metrics.MeanAccuracy), ["IoU"] = perClass,
        });
    }

    /// <summary>
    /// The lines of a metrics.jsonl as objects (either engine's). A line that is not a JSON object — the last line of a
    /// run killed while writing it — is left out.
    /// </summary>
    public static IReadOnlyList<JsonObject> Read(string path) =>
        ReadLines(path).Select(Parse).OfType<JsonObject>().ToList();

    private void Append(JsonObject line)
    {
        using var stream = new FileStream(MetricsPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = Encoding.UTF8.GetBytes(line.ToJsonString() + "\n");
        stream.Write(bytes);   // one write per line: a kill leaves at most a cut last line, which Read skips
    }

    private static JsonNode? Finite(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    private static IEnumerable<string> ReadLines(string path) =>
        File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Length > 0) : Enumerable.Empty<string>();

    private static JsonObject? Parse(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int? StepOf(string line) =>
        Parse(line)?["step"] is JsonValue value && value.TryGetValue<int>(out var step) ? step : null;
}
