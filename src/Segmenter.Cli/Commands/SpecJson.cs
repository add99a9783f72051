using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Dsl;

namespace Segmenter.Cli.Commands;

/// <summary>Specs as JSON objects (the shape `list --json` and `show --json` print).</summary>
internal static class SpecJson
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
        ["decoder"] = DecoderName(spec.Decoder.Kind),
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
            ["kind"] = DecoderName(spec.Decoder.Kind),
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

    public static string DecoderName(DecoderKind kind) => kind == DecoderKind.Mask ? "mask" : "linear";
}
