using System;
using System.CommandLine;
using Segmenter.Tooling;
using Segmenter.Runtime;

namespace Segmenter.Cli.Commands;

/// <summary>The options every command that builds a model shares: the model, its checkpoint, the device, and how strictly to load.</summary>
internal sealed class ModelOptions
{
    public Argument<string> Model { get; } = new("model") { Description = "A zoo model, path/to/file.seg[:Model], or a reference variant.yml (or its folder)." };

    public Option<string?> Checkpoint { get; } = new("--checkpoint") { Description = "Weights: a reference, mmsegmentation or timm .pth, a safetensors file, or this project's format. Default: checkpoint.pth beside a variant.yml." };

    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => Devices.Default };

    public Option<string[]> AllowMissing { get; } = new("--allow-missing") { Description = "Key prefixes the checkpoint may lack (e.g. decoder. when starting from ImageNet weights).", AllowMultipleArgumentsPerToken = true };

    public Option<string[]> Skip { get; } = new("--skip") { Description = "Key prefixes of the checkpoint to ignore.", AllowMultipleArgumentsPerToken = true };

    public void AddTo(Command command)
    {
        command.Add(Model);
        command.Add(Checkpoint);
        command.Add(Device);
        command.Add(AllowMissing);
        command.Add(Skip);
    }

    /// <summary>The request these options describe, for <see cref="ModelLoader"/>.</summary>
    public ModelRequest Request(ParseResult result, bool checkpointRequired = false) => new()
    {
        Model = result.GetValue(Model)!,
        Checkpoint = result.GetValue(Checkpoint),
        CheckpointRequired = checkpointRequired,
        Device = result.GetValue(Device)!,
        AllowMissing = result.GetValue(AllowMissing) ?? Array.Empty<string>(),
        Skip = result.GetValue(Skip) ?? Array.Empty<string>(),
    };

    /// <summary>Loads the model (see <see cref="ModelLoader"/>) and reports the load on standard error.</summary>
    public (SegmenterModel Model, TorchSharp.torch.Device Device) Build(ParseResult result, CliConsole console, bool checkpointRequired = false)
    {
        var loaded = ModelLoader.Load(Request(result, checkpointRequired));
        console.Err.WriteLine(loaded.Summary);
        if (loaded.Report?.Warning is { } warning) console.Warning(warning);
        return (loaded.Model, loaded.Device);
    }
}
