using System.CommandLine;
using System.Diagnostics;
using Segmenter.Dsl;
using Segmenter.Models;
using Segmenter.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter quickstart</c>: the main job on a built-in default, with nothing to download.</summary>
internal static class QuickstartCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model") { Description = "The model to run.", DefaultValueFactory = _ => "SegT16" };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => "auto" };
        var command = new Command("quickstart", "Show the zoo, then build a generated model and segment a random image with it.") { model, device };
        command.SetAction(result =>
        {
            console.Out.WriteLine("The zoo (specs/*.seg, generated into typed classes at build time):");
            ListCommand.Create(console).Parse(System.Array.Empty<string>()).Invoke();

            var entry = ModelResolver.Resolve(result.GetValue(model)!);
            var target = Devices.Parse(result.GetValue(device)!);
            var spec = entry.Spec;
            console.Out.WriteLine();
            console.Out.WriteLine($"Building {spec.Name} ({spec.PaperName}) on {target}: {Format.Count(SpecMetrics.Parameters(spec).Total)} parameters.");
            using var instance = entry.Create(target);
            manual_seed(0);
            using var image = randn(1, 3, spec.ImageHeight, spec.ImageWidth, device: target);
            var clock = Stopwatch.StartNew();
            using var logits = instance.Predict(image);
            using var labels = logits.argmax(1);
            var seconds = clock.Elapsed.TotalSeconds;
            console.Out.WriteLine($"Segmented a random {spec.ImageHeight}×{spec.ImageWidth} image in {seconds:F2} s: logits [{string.Join(", ", logits.shape)}], " +
                                  $"{labels.unique().output.numel()} distinct classes predicted (random weights).");
            console.Out.WriteLine("Next: 'segmenter show SegT16 --state-dict', 'segmenter check specs/*.seg', 'segmenter emit specs/ade20k.seg --model SegT16'.");
            return 0;
        });
        return command;
    }
}
