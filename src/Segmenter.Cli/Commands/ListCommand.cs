using System.CommandLine;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Spec;
using Segmenter.Runtime;
using Segmenter.Tooling;
using Spectre.Console;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter list [--json]</c>: every zoo model.</summary>
internal static class ListCommand
{
    public static Command Create(CliConsole console)
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table." };
        var command = new Command("list", "List the zoo's models (specs/*.seg, generated at build time).") { json };
        command.SetAction(result =>
        {
            var specs = ModelResolver.Zoo.Select(m => m.Spec).ToList();
            if (result.GetValue(json))
            {
                console.Out.WriteLine(Json.Write(new JsonArray(specs.Select(s => (JsonNode)SpecJson.Summary(s)).ToArray())));
                return 0;
            }
            var table = new Table().AddColumns("model", "paper", "backbone", "layers", "width", "heads", "patch", "image", "classes", "decoder", "parameters");
            foreach (var spec in specs)
            {
                var decoder = spec.Decoder.Kind == DecoderKind.Mask ? $"{DecoderNames.Mask}×{spec.Decoder.Layers}" : DecoderNames.Linear;
                table.AddRow(spec.Name, Markup.Escape(spec.PaperName), spec.Backbone.Name, $"{spec.Backbone.Layers}", $"{spec.Backbone.Width}", $"{spec.Backbone.Heads}",
                    $"{spec.PatchSize}", $"{spec.ImageHeight}×{spec.ImageWidth}", spec.Dataset is null ? $"{spec.NumClasses}" : $"{spec.NumClasses} ({spec.Dataset})",
                    decoder, Format.Count(SpecMetrics.Parameters(spec).Total));
            }
            console.Ansi.Write(table);
            return 0;
        });
        return command;
    }
}
