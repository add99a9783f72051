using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Segmenter.Inference;
using Segmenter.Reports;
using Segmenter.Runtime;
using Segmenter.Spec;
using Segmenter.Training.Data;
using Segmenter.Training.Evaluation;
using static TorchSharp.torch;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter eval (&lt;model&gt; --checkpoint F | --onnx model.onnx [--provider P]) --data DIR --dataset L [--mode whole|slide|multiscale] [--json]</c>.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "The dataset folder.", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "ade20k, cityscapes, pascal-context or folder.", Required = true };
        var split = new Option<string>("--split") { Description = "The split to evaluate.", DefaultValueFactory = _ => "val" };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON." };
        var report = new Option<string?>("--report") { Description = "Also write an HTML report to this folder (opens offline): metrics, per-class IoU, confusion, best and worst images." };
        var inference = new InferenceChoice();
        var onnx = new OnnxRuntimeOptions();
        var precision = new PrecisionOption();
        var compare = new Option<string?>("--compare-with")
        {
            Description = "Also run a baseline on every image and report the share of pixels whose class agrees with it, and its mIoU beside this one's: " +
                          "an exported .onnx file (the float32 file, to check an --int8 one), or float32 (the model itself in float32, to check --precision bf16).",
        };
        var command = new Command("eval", "Evaluate a model (or, with --onnx, an exported file in ONNX Runtime) on a dataset split: aAcc, mIoU, mAcc and per-class IoU/Acc.")
        {
            data, dataset, split, json, report, compare,
        };
        model.AddTo(command);
        inference.AddTo(command);
        onnx.AddTo(command);
        precision.AddTo(command);
        model.Model.Arity = ArgumentArity.ZeroOrOne;
        command.SetAction(result =>
        {
            var set = DatasetReader.Open(DatasetLayouts.Parse(result.GetValue(dataset)!), result.GetValue(data)!, result.GetValue(split)!);
            var reportFolder = result.GetValue(report);
            if (reportFolder is not null) EvaluationReport.CheckFolder(reportFolder);   // before the work, not after it
            if (result.GetValue(compare) is { } named) CheckBaseline(named, result, onnx, precision, console);   // before the models load
            var (probabilities, spec, owner) = Open(result, model, onnx, precision, console);
            using var _owner = owner;
            var baseline = result.GetValue(compare) is { } baselineText ? OpenBaseline(baselineText, result, model, onnx, console, spec) : default;
            using var _baselineOwner = baseline.Owner;
            var options = inference.Read(result, spec);
            var clock = Stopwatch.StartNew();
            Agreement outcome;
            string? comparisonLine;
            using (var progress = new ProgressLine(console.Err, "evaluating", set.Count, "images"))
            {
                var pages = reportFolder is null ? null : new EvaluationReport(set);
                outcome = DatasetEvaluation.Compare(probabilities(options), baseline.Probabilities?.Invoke(options), spec, set,
                                                    (done, _) => progress.Report(done), pages is null ? null : pages.Observe);
                comparisonLine = outcome.BaselineMetrics is { } baselineMetrics ? ComparisonLine(outcome, baselineMetrics, baseline.Name) : null;
                if (pages is not null)
                {
                    var backend = result.GetValue(onnx.File) is { } file ? $"{Path.GetFileName(file)} in ONNX Runtime ({result.GetValue(onnx.Provider)})" : "TorchSharp";
                    var page = pages.Write(reportFolder!, outcome.Metrics, $"{spec.Name} on {set.Split}: {options.Mode.ToString().ToLowerInvariant()} inference, {backend}",
                                           comparisonLine);
                    console.Err.WriteLine($"report written to {page}");
                }
            }
            var metrics = outcome.Metrics;
            if (result.GetValue(json))
            {
                var node = MetricsTable.Json(metrics);
                node["model"] = spec.Name;
                node["backend"] = result.GetValue(onnx.File) is null ? "torchsharp" : $"onnxruntime ({result.GetValue(onnx.Provider)})";
                node["images"] = set.Count;
                node["mode"] = options.Mode.ToString().ToLowerInvariant();
                if (outcome.BaselineMetrics is { } baselineMetrics)
                {
                    var comparison = MetricsTable.Json(baselineMetrics);
                    comparison.Remove("classes");
                    comparison["baseline"] = baseline.Name;
                    comparison["pixelAgreement"] = Math.Round(100 * outcome.Share, 3);
                    comparison["pixelsCompared"] = outcome.Pixels;
                    node["comparison"] = comparison;
                }
                console.Out.WriteLine(Json.Write(node));
            }
            else
            {
                MetricsTable.Write(console, metrics);
                console.Out.WriteLine($"{set.Count} images of {set.Root} ({set.Split}), {options.Mode.ToString().ToLowerInvariant()} inference, {clock.Elapsed.TotalSeconds:F1} s");
                if (comparisonLine is not null) console.Out.WriteLine(comparisonLine);
            }
            return 0;
        });
        return command;
    }

    /// <summary>How the predictions compare with the baseline's: the share of pixels that agree, and both mIoUs.</summary>
    private static string ComparisonLine(Agreement outcome, SegmentationMetrics baseline, string name)
    {
        double here = Math.Round(100 * outcome.Metrics.MeanIoU, 2), there = Math.Round(100 * baseline.MeanIoU, 2);
        return string.Create(CultureInfo.InvariantCulture,
            $"against {name}: classes agree on {100 * outcome.Share:F2} % of {outcome.Pixels:N0} pixels; mIoU {here:F2} here, {there:F2} there ({here - there:+0.00;-0.00;0.00})");
    }

    /// <summary>
    /// What to evaluate, as a function from inference options to one image's class probabilities: the model on its device or,
    /// with --onnx, the exported file in ONNX Runtime; the spec; what to dispose.
    /// </summary>
    private static (Func<InferenceOptions, Func<Tensor, Tensor>> Probabilities, SegmenterSpec Spec, IDisposable Owner) Open(
        ParseResult result, ModelOptions model, OnnxRuntimeOptions onnx, PrecisionOption precision, CliConsole console)
    {
        if (result.GetValue(onnx.File) is not null)
        {
            var (forward, spec, owner) = onnx.Open(result, model, console);
            return (options => DatasetEvaluation.Probabilities(forward, options), spec, owner);
        }
        onnx.RefuseWithoutFile(result);
        if (string.IsNullOrEmpty(result.GetValue(model.Model)))
            throw new ArgumentException("give a model with --checkpoint, or --onnx model.onnx");
        var (network, device) = model.Build(result, console, checkpointRequired: true);
        precision.Apply(result, console, network);
        return (options => DatasetEvaluation.Probabilities(network, options, device), network.Specification, network);
    }

    /// <summary>Throws, with what to give instead, when --compare-with names no baseline this run can be compared with.</summary>
    private static void CheckBaseline(string text, ParseResult result, OnnxRuntimeOptions onnx, PrecisionOption precision, CliConsole console)
    {
        if (IsFloat32(text))
        {
            if (result.GetValue(onnx.File) is not null)
                throw new ArgumentException("--compare-with float32 compares a TorchSharp model at --precision bf16 with itself in float32; for an ONNX file, " +
                                            "give the float32 file it was exported beside: --compare-with model.onnx");
            if (precision.Read(result, console, onCpu: false) == ComputePrecision.Float32)
                throw new ArgumentException("--compare-with float32: this run is float32 already; add --precision bf16 to compare bf16 with float32");
            return;
        }
        if (!text.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--compare-with '{text}': give an exported .onnx file, or float32 (with --precision bf16)");
        if (!File.Exists(text)) throw new FileNotFoundException($"--compare-with: no file {text}", text);
    }

    private static bool IsFloat32(string text) => text.Trim().Equals("float32", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The baseline --compare-with names (<see cref="CheckBaseline"/>): float32 (the same model and weights, in float32, beside a
    /// --precision bf16 run), or an exported .onnx file of the same classes in ONNX Runtime (with the run's --provider).
    /// </summary>
    private static (Func<InferenceOptions, Func<Tensor, Tensor>>? Probabilities, string Name, IDisposable? Owner) OpenBaseline(string text, ParseResult result,
        ModelOptions model, OnnxRuntimeOptions onnx, CliConsole console, SegmenterSpec spec)
    {
        if (IsFloat32(text))
        {
            var (network, device) = model.Build(result, console, checkpointRequired: true);
            return (options => DatasetEvaluation.Probabilities(network, options, device), "float32 (TorchSharp)", network);
        }
        var (session, baselineSpec) = onnx.OpenFile(text, result, console);
        if (baselineSpec.NumClasses != spec.NumClasses)
        {
            session.Dispose();
            throw new ArgumentException($"--compare-with {text}: {baselineSpec.Name} predicts {baselineSpec.NumClasses} classes, {spec.Name} {spec.NumClasses}: compare files of the same model");
        }
        return (options => DatasetEvaluation.Probabilities(session.Run, options), Path.GetFileName(text), session);
    }
}
