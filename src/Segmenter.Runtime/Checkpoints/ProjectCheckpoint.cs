using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Segmenter.Spec;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>
/// The project's own checkpoint format: safetensors with the model's resolved spec (as standalone
/// .seg text, class names included) in the metadata, so the file alone says which model it is.
/// </summary>
public static class ProjectCheckpoint
{
    /// <summary>Metadata key and value marking the format. Version 2 adds <see cref="SpecJsonKey"/>.</summary>
    public const string FormatKey = "format", FormatValue = "segmenter-dsl/2";

    /// <summary>Metadata key of the spec as .seg text (for people, and for <c>import</c>).</summary>
    public const string SpecKey = "spec";

    /// <summary>Metadata key of the spec as JSON (<see cref="SpecJson"/>): what programs read back.</summary>
    public const string SpecJsonKey = "spec_json";

    /// <summary>Metadata key of the model's name.</summary>
    public const string ModelKey = "model";

    /// <summary>Saves <paramref name="model"/>'s state dict with its spec (and any extra metadata and tensors), atomically.</summary>
    public static void Save(SegmenterModel model, string path, IReadOnlyDictionary<string, string>? extraMetadata = null,
        IEnumerable<KeyValuePair<string, TorchSharp.torch.Tensor>>? extraTensors = null)
    {
        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = FormatValue,
            [ModelKey] = model.Specification.Name,
            [SpecKey] = SpecPrinter.Print(model.Specification),
            [SpecJsonKey] = SpecJson.Full(model.Specification).ToJsonString(),
        };
        if (extraMetadata is not null)
        {
            foreach (var (key, value) in extraMetadata) metadata[key] = value;
        }
        SafeTensors.Write(path, model.state_dict().Concat(extraTensors ?? Array.Empty<KeyValuePair<string, TorchSharp.torch.Tensor>>()), metadata);
    }

    /// <summary>True if the file carries this project's metadata.</summary>
    public static bool IsProjectFile(CheckpointFile file) => IsProjectMetadata(file.Metadata);

    /// <summary>True if <paramref name="metadata"/> (a safetensors header's) is this project's.</summary>
    public static bool IsProjectMetadata(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(FormatKey, out var format) && format.StartsWith("segmenter-dsl/", StringComparison.Ordinal);

    /// <summary>
    /// The spec stored in a project file, or null for a version-1 file, which holds the spec only as .seg text
    /// (reading that takes the spec compiler: the tools do it; weights still load with strict key and shape checks).
    /// </summary>
    public static SegmenterSpec? ReadSpec(CheckpointFile file) => ReadSpec(file.Path, file.Metadata);

    /// <summary>The spec in the metadata of the project file at <paramref name="path"/> (as <see cref="ReadSpec(CheckpointFile)"/>).</summary>
    public static SegmenterSpec? ReadSpec(string path, IReadOnlyDictionary<string, string> metadata)
    {
        var format = metadata.TryGetValue(FormatKey, out var f) ? f : "";
        if (format is not ("segmenter-dsl/1" or FormatValue))
            throw new InvalidDataException($"{path}: format '{format}' is not one this version reads (segmenter-dsl/1 or {FormatValue}); " +
                                           "a file written by a newer version needs that version, or `segmenter convert` there");
        if (!metadata.TryGetValue(SpecJsonKey, out var text))
        {
            if (metadata.ContainsKey(SpecKey)) return null;
            throw new InvalidDataException($"{path}: a segmenter-dsl checkpoint without its '{SpecJsonKey}' or '{SpecKey}' metadata");
        }
        JsonObject json;
        try
        {
            json = JsonNode.Parse(text) as JsonObject ?? throw new InvalidDataException($"{path}: its '{SpecJsonKey}' metadata is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: its '{SpecJsonKey}' metadata is not valid JSON ({e.Message})", e);
        }
        var spec = SpecJson.Read(json, $"{path} ({SpecJsonKey})");
        if (metadata.TryGetValue(ModelKey, out var model) && model != spec.Name)
            throw new InvalidDataException($"{path}: its metadata names model '{model}' but its spec is '{spec.Name}'; the file's header is inconsistent");
        return spec;
    }

    /// <summary>Throws a clear error if the file's spec describes another architecture than <paramref name="spec"/>.</summary>
    public static void CheckCompatible(CheckpointFile file, SegmenterSpec spec)
    {
        if (ReadSpec(file) is not { } stored) return;
        var differences = ArchitectureDifferences(stored, spec);
        if (differences.Count > 0)
            throw new InvalidDataException($"{file.Path} holds weights of model '{stored.Name}', whose architecture differs from '{spec.Name}': " +
                                           string.Join("; ", differences) + $". Load it with the model it was saved from ('{stored.Name}'), or convert the weights.");
    }

    /// <summary>What differs between two specs in ways that change the weights or the outputs (not the name, not training-only rates).</summary>
    public static IReadOnlyList<string> ArchitectureDifferences(SegmenterSpec stored, SegmenterSpec wanted)
    {
        var differences = new List<string>();
        void Compare<T>(string what, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b)) differences.Add($"{what} {a} in the file, {b} in the model");
        }
        Compare("layers", stored.Backbone.Layers, wanted.Backbone.Layers);
        Compare("width", stored.Backbone.Width, wanted.Backbone.Width);
        Compare("heads", stored.Backbone.Heads, wanted.Backbone.Heads);
        Compare("MLP width", stored.Backbone.MlpWidth, wanted.Backbone.MlpWidth);
        Compare("distilled", stored.Backbone.Distilled, wanted.Backbone.Distilled);
        Compare("patch", stored.PatchSize, wanted.PatchSize);
        Compare("image", $"{stored.ImageHeight}x{stored.ImageWidth}", $"{wanted.ImageHeight}x{wanted.ImageWidth}");
        Compare("classes", stored.NumClasses, wanted.NumClasses);
        if (stored.Decoder with { Dropout = 0, DropPathRate = 0 } != wanted.Decoder with { Dropout = 0, DropPathRate = 0 })
            differences.Add($"decoder {SpecPrinter.Decoder(stored.Decoder)} in the file, {SpecPrinter.Decoder(wanted.Decoder)} in the model");
        Compare("normalisation", stored.Normalization.Name, wanted.Normalization.Name);
        Compare("LayerNorm epsilon", stored.LayerNormEpsilon, wanted.LayerNormEpsilon);
        Compare("position-embedding resize", stored.PositionEmbeddingResize, wanted.PositionEmbeddingResize);
        return differences;
    }
}
