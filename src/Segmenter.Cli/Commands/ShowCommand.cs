using System.CommandLine;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Spec;
using Segmenter.Runtime;
using Segmenter.Tooling;
using Spectre.Console;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter show &lt;model&gt; [--state-dict] [--size HxW] [--json]</c>.</summary>
internal static class ShowCommand
{
    /// <summary>The largest model --state-dict builds (4 GB of float32 weights).</summary>
    private const long MaximumBuiltParameters = 1_000_000_000;

    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "A zoo model name, or path/to/file.seg[:Model]." };
        var stateDict = new Option<bool>("--state-dict") { Description = "Print every state-dict key and shape, in state-dict order (the reference's listing format)." };
        var size = new Option<string?>("--size") { Description = "Image size for the FLOP count, HxW (default: the spec's training size)." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var command = new Command("show", "Show a model's resolved spec, parameters per part and FLOPs.") { model, stateDict, size, json };
        command.SetAction(result =>
        {
            var entry = ModelResolver.Resolve(result.GetValue(model)!);
            var spec = entry.Spec;
            var (height, width) = result.GetValue(size) is { } text ? Format.ParseSize(text) : (spec.ImageHeight, spec.ImageWidth);
            var parameters = SpecMetrics.Parameters(spec);
            var flops = SpecMetrics.Flops(spec, height, width);
            // The listing comes from the model itself, so it is built; a spec too large to build is refused, not attempted.
            if (result.GetValue(stateDict) && parameters.Total > MaximumBuiltParameters)
                throw new System.ArgumentException($"{spec.Name} has {parameters.Total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} parameters ({(parameters.Total * 4 / 1e9).ToString("F0", System.Globalization.CultureInfo.InvariantCulture)} GB in float32); --state-dict builds the model " +
                                            $"and is refused above {MaximumBuiltParameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} parameters. `segmenter show {spec.Name}` without --state-dict gives the counts per part");

            if (result.GetValue(stateDict) && !result.GetValue(json))
            {
                using var instance = entry.Create(null);
                foreach (var (key, shape) in instance.StateDictShapes())
                    console.Out.WriteLine($"{key} [{string.Join(", ", shape)}]");
                return 0;
            }

            if (result.GetValue(json))
            {
                var node = new JsonObject
                {
                    ["spec"] = SpecJson.Full(spec),
                    ["parameters"] = new JsonObject
                    {
                        ["encoder"] = parameters.Encoder,
                        ["decoder"] = parameters.Decoder,
                        ["total"] = parameters.Total,
                        ["referenceTotalWithUnusedHeads"] = parameters.Total + SpecMetrics.UnusedReferenceHeadParameters(spec),
                    },
                    ["flops"] = new JsonObject
                    {
                        ["size"] = new JsonArray(height, width),
                        ["patchEmbedding"] = flops.PatchEmbedding,
                        ["attention"] = flops.Attention,
                        ["mlp"] = flops.Mlp,
                        ["decoder"] = flops.Decoder,
                        ["total"] = flops.Total,
                    },
                };
                if (result.GetValue(stateDict))
                {
                    using var instance = entry.Create(null);
                    node["stateDict"] = new JsonArray(instance.StateDictShapes()
                        .Select(p => (JsonNode)new JsonObject { ["key"] = p.Key, ["shape"] = new JsonArray(p.Shape.Select(d => (JsonNode)d).ToArray()) }).ToArray());
                }
                console.Out.WriteLine(Json.Write(node));
                return 0;
            }

            WriteTables(console, spec, parameters, flops, height, width);
            return 0;
        });
        return command;
    }

    private static void WriteTables(CliConsole console, SegmenterSpec spec, ParameterCounts parameters, FlopCounts flops, int height, int width)
    {
        var b = spec.Backbone;
        var d = spec.Decoder;
        var properties = new Table().AddColumns("property", "value").Title($"{spec.Name} ({Markup.Escape(spec.PaperName)})");
        properties.AddRow("backbone", $"{b.Name}: {b.Layers} layers, width {b.Width}, {b.Heads} heads, MLP {b.MlpWidth}{(b.Distilled ? ", distilled" : "")}");
        properties.AddRow("patch", $"{spec.PatchSize}");
        properties.AddRow("image (training)", $"{spec.ImageHeight}×{spec.ImageWidth}, grid {spec.GridHeight}×{spec.GridWidth}");
        properties.AddRow("classes", spec.Dataset is null ? $"{spec.NumClasses}" : $"{spec.NumClasses} ({spec.Dataset})");
        properties.AddRow("decoder", d.Kind == DecoderKind.Linear
            ? DecoderNames.Linear
            : $"{DecoderNames.Mask}: {d.Layers} layers, width {d.Width}, {d.Heads} heads, MLP {d.MlpWidth}, dropout {d.Dropout}, drop-path {d.DropPathRate}");
        properties.AddRow("drop-path / dropout", $"{spec.DropPathRate} / {spec.Dropout}");
        properties.AddRow("normalize", Markup.Escape($"{spec.Normalization.Name}: mean ({string.Join(", ", spec.Normalization.Mean)}), std ({string.Join(", ", spec.Normalization.Std)})"));
        properties.AddRow("LayerNorm epsilon", $"{spec.LayerNormEpsilon:R}");
        properties.AddRow("position-embedding resize", spec.PositionEmbeddingResize.ToString().ToLowerInvariant());
        console.Ansi.Write(properties);

        var sizes = new Table().AddColumns("part", "parameters", $"GFLOPs at {height}×{width}");
        sizes.AddRow("encoder", Format.Count(parameters.Encoder), Format.Giga(flops.PatchEmbedding + flops.Attention + flops.Mlp));
        sizes.AddRow("  patch embedding", "", Format.Giga(flops.PatchEmbedding));
        sizes.AddRow("  attention", "", Format.Giga(flops.Attention));
        sizes.AddRow("  MLP", "", Format.Giga(flops.Mlp));
        sizes.AddRow("decoder", Format.Count(parameters.Decoder), Format.Giga(flops.Decoder));
        sizes.AddRow("total", Format.Count(parameters.Total), Format.Giga(flops.Total));
        console.Ansi.Write(sizes);
        console.Out.WriteLine($"The reference also holds {Format.Count(SpecMetrics.UnusedReferenceHeadParameters(spec))} unused ImageNet-head parameters (total {Format.Count(parameters.Total + SpecMetrics.UnusedReferenceHeadParameters(spec))}), which generated models omit.");
    }
}
