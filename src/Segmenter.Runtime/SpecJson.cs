using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Spec;

namespace Segmenter.Runtime;

/// <summary>
/// Specs as JSON objects: the shape `list --json` and `show --json` print, and the machine-readable
/// spec the project's checkpoints carry (<see cref="Read"/> gives back an equal spec), so reading a
/// checkpoint needs no spec compiler.
/// </summary>
public static class SpecJson
{
    /// <summary>The summary `list --json` prints per model.</summary>
    public static JsonObject Summary(SegmenterSpec spec) => new()
    {
        ["name"] = spec.Name,
        ["paperName"] = spec.PaperName,
        ["backbone"] = spec.Backbone.Name,
        ["width"] = spec.Backbone.Width,
        ["layers"] = spec.Backbone.Layers,
        ["heads"] = spec.Backbone.Heads,
        ["patch"] = spec.PatchSize,
        ["image"] = new JsonArray(spec.ImageHeight, spec.ImageWidth),
        ["classes"] = spec.NumClasses,
        ["dataset"] = spec.Dataset,
        ["decoder"] = DecoderNames.Of(spec.Decoder.Kind),
        ["decoderLayers"] = spec.Decoder.Layers,
        ["distilled"] = spec.Backbone.Distilled,
        ["parameters"] = SpecMetrics.Parameters(spec).Total,
    };

    /// <summary>Every resolved hyper-parameter.</summary>
    public static JsonObject Full(SegmenterSpec spec) => new()
    {
        ["name"] = spec.Name,
        ["paperName"] = spec.PaperName,
        ["backbone"] = new JsonObject
        {
            ["name"] = spec.Backbone.Name,
            ["layers"] = spec.Backbone.Layers,
            ["width"] = spec.Backbone.Width,
            ["heads"] = spec.Backbone.Heads,
            ["mlpWidth"] = spec.Backbone.MlpWidth,
            ["distilled"] = spec.Backbone.Distilled,
        },
        ["patch"] = spec.PatchSize,
        ["image"] = new JsonArray(spec.ImageHeight, spec.ImageWidth),
        ["grid"] = new JsonArray(spec.GridHeight, spec.GridWidth),
        ["extraTokens"] = spec.ExtraTokens,
        ["classes"] = spec.NumClasses,
        ["classNames"] = new JsonArray(Enumerable.Range(0, spec.NumClasses).Select(i => (JsonNode)spec.ClassName(i)).ToArray()),
        ["dataset"] = spec.Dataset,
        ["decoder"] = new JsonObject
        {
            ["kind"] = DecoderNames.Of(spec.Decoder.Kind),
            ["layers"] = spec.Decoder.Layers,
            ["width"] = spec.Decoder.Width,
            ["heads"] = spec.Decoder.Heads,
            ["mlpWidth"] = spec.Decoder.MlpWidth,
            ["dropout"] = spec.Decoder.Dropout,
            ["dropPath"] = spec.Decoder.DropPathRate,
        },
        ["dropPath"] = spec.DropPathRate,
        ["dropout"] = spec.Dropout,
        ["normalization"] = new JsonObject
        {
            ["name"] = spec.Normalization.Name,
            ["mean"] = new JsonArray(spec.Normalization.Mean.Select(v => (JsonNode)v).ToArray()),
            ["std"] = new JsonArray(spec.Normalization.Std.Select(v => (JsonNode)v).ToArray()),
        },
        ["layerNormEpsilon"] = spec.LayerNormEpsilon,
        ["positionEmbeddingResize"] = spec.PositionEmbeddingResize.ToString().ToLowerInvariant(),
    };

    /// <summary>The spec <see cref="Full"/> wrote; throws <see cref="InvalidDataException"/> naming the field that is missing or wrong.</summary>
    public static SegmenterSpec Read(JsonObject json, string origin)
    {
        T Get<T>(JsonNode? node, string field)
        {
            try
            {
                if (node is null) throw new InvalidDataException($"{origin}: the spec has no '{field}'");
                return node.GetValue<T>();
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{origin}: the spec's '{field}' is not a {typeof(T).Name}", e);
            }
        }
        JsonObject Object(JsonNode? node, string field) => node as JsonObject ?? throw new InvalidDataException($"{origin}: the spec has no '{field}' object");
        double[] Numbers(JsonNode? node, string field) =>
            (node as JsonArray ?? throw new InvalidDataException($"{origin}: the spec has no '{field}' array")).Select(v => Get<double>(v, field)).ToArray();

        var backbone = Object(json["backbone"], "backbone");
        var decoder = Object(json["decoder"], "decoder");
        var normalization = Object(json["normalization"], "normalization");
        var image = json["image"] as JsonArray ?? throw new InvalidDataException($"{origin}: the spec has no 'image' array");
        if (image.Count != 2) throw new InvalidDataException($"{origin}: the spec's 'image' must be [height, width]");
        int classes = Get<int>(json["classes"], "classes");
        var dataset = json["dataset"] is null ? null : Get<string>(json["dataset"], "dataset");
        var names = (json["classNames"] as JsonArray)?.Select(v => Get<string>(v, "classNames")).ToArray() ?? Array.Empty<string>();
        // Unnamed classes are written as "class i"; a dataset preset's names come from the preset.
        var classNames = dataset is not null ? DatasetPresets.Find(dataset)?.ClassNames ?? throw new InvalidDataException($"{origin}: unknown dataset preset '{dataset}'")
            : names.Select((n, i) => n == "class " + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).All(x => x) ? EquatableArray<string>.Empty
            : names.ToEquatableArray();
        var kindName = Get<string>(decoder["kind"], "decoder.kind");
        var kind = DecoderNames.Parse(kindName)
                   ?? throw new InvalidDataException($"{origin}: unknown decoder kind '{kindName}' ({string.Join(" or ", DecoderNames.All)})");
        var resize = Get<string>(json["positionEmbeddingResize"], "positionEmbeddingResize") switch
        {
            "bilinear" => ResizeMode.Bilinear,
            "bicubic" => ResizeMode.Bicubic,
            var other => throw new InvalidDataException($"{origin}: unknown position-embedding resize '{other}' (bilinear or bicubic)"),
        };
        var normalizationName = Get<string>(normalization["name"], "normalization.name");
        var normalizationSpec = new NormalizationSpec(normalizationName, Numbers(normalization["mean"], "normalization.mean").ToEquatableArray(), Numbers(normalization["std"], "normalization.std").ToEquatableArray());
        return new SegmenterSpec(
            Get<string>(json["name"], "name"),
            new BackboneSpec(Get<string>(backbone["name"], "backbone.name"), Get<int>(backbone["layers"], "backbone.layers"), Get<int>(backbone["width"], "backbone.width"),
                Get<int>(backbone["heads"], "backbone.heads"), Get<int>(backbone["mlpWidth"], "backbone.mlpWidth"), Get<bool>(backbone["distilled"], "backbone.distilled")),
            Get<int>(json["patch"], "patch"), Get<int>(image[0], "image"), Get<int>(image[1], "image"),
            classes, classNames, dataset,
            kind == DecoderKind.Linear ? DecoderSpec.Linear
                : new DecoderSpec(kind, Get<int>(decoder["layers"], "decoder.layers"), Get<int>(decoder["width"], "decoder.width"), Get<int>(decoder["heads"], "decoder.heads"),
                    Get<int>(decoder["mlpWidth"], "decoder.mlpWidth"), Get<double>(decoder["dropout"], "decoder.dropout"), Get<double>(decoder["dropPath"], "decoder.dropPath")),
            Get<double>(json["dropPath"], "dropPath"), Get<double>(json["dropout"], "dropout"),
            normalizationSpec, Get<double>(json["layerNormEpsilon"], "layerNormEpsilon"), resize);
    }
}
