using System.CommandLine;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter convert &lt;checkpoint&gt; --model &lt;model&gt; --out F.safetensors</c>: any supported format to the project's own.</summary>
internal static class ConvertCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A reference, mmsegmentation or timm .pth, or a safetensors file." };
        var model = new Option<string>("--model") { Description = "The model the weights belong to (zoo name, file.seg[:Model] or variant.yml).", Required = true };
        var output = new Option<string>("--out") { Description = "The safetensors file to write (with the model's spec in its metadata).", Required = true };
        var allowMissing = new Option<string[]>("--allow-missing") { Description = "Key prefixes the checkpoint may lack.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("convert", "Convert weights to this project's format: safetensors carrying the model's spec.") { checkpoint, model, output, allowMissing };
        command.SetAction(result =>
        {
            using var loaded = ModelLoader.Load(new ModelRequest
            {
                Model = result.GetValue(model)!,
                Checkpoint = result.GetValue(checkpoint)!,
                Device = "cpu",
                AllowMissing = result.GetValue(allowMissing) ?? System.Array.Empty<string>(),
            });
            if (loaded.Report!.Warning is { } warning) console.Warning(warning);
            ProjectCheckpoint.Save(loaded.Model, result.GetValue(output)!);
            console.Out.WriteLine(TerminalText.Safe(loaded.Report!.ToString()));   // key names come from the file
            console.Out.WriteLine($"wrote {result.GetValue(output)} ({loaded.Entry.Name}, {loaded.Report.Loaded.Count} tensors)");
            return 0;
        });
        return command;
    }
}
