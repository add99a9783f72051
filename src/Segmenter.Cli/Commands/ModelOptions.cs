using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Models;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using static TorchSharp.torch;

namespace Segmenter.Cli.Commands;

/// <summary>The options every command that builds a model shares: the model, its checkpoint, the device, and how strictly to load.</summary>
internal sealed class ModelOptions
{
    public Argument<string> Model { get; } = new("model") { Description = "A zoo model, path/to/file.seg[:Model], or a reference variant.yml (or its folder)." };

    public Option<string?> Checkpoint { get; } = new("--checkpoint") { Description = "Weights: a reference, mmsegmentation or timm .pth, a safetensors file, or this project's format. Default: checkpoint.pth beside a variant.yml." };

    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => "cpu" };

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

    /// <summary>Builds the model on the chosen device, loads its checkpoint (if any) and reports the load on standard error.</summary>
    public (SegmenterModel Model, TorchSharp.torch.Device Device) Build(ParseResult result, CliConsole console, bool checkpointRequired = false)
    {
        var device = Devices.Parse(result.GetValue(Device)!);
        var reference = result.GetValue(Model)!;
        var entry = ModelResolver.Resolve(reference);
        var checkpoint = result.GetValue(Checkpoint) ?? ModelResolver.DefaultCheckpoint(reference);
        if (checkpoint is null && checkpointRequired)
            throw new ArgumentException($"no checkpoint: give --checkpoint path (a .pth or .safetensors file) for {entry.Name}");

        var model = entry.Create(null);
        try
        {
            if (checkpoint is not null)
            {
                var report = CheckpointLoader.Load(model, checkpoint, new LoadOptions
                {
                    AllowMissing = result.GetValue(AllowMissing) ?? Array.Empty<string>(),
                    Skip = result.GetValue(Skip) ?? Array.Empty<string>(),
                });
                console.Err.WriteLine($"{entry.Name}: {report.Summary()}");
            }
            else
            {
                console.Err.WriteLine($"warning: {entry.Name} has no checkpoint, so its weights are the random initialisation; give --checkpoint for trained weights");
            }
            if (device.type != TorchSharp.DeviceType.CPU) TorchSharp.ModuleExtensionMethods.to(model, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return (model, device);
    }
}

/// <summary>Reading a tensor argument of the form file.safetensors[:name].</summary>
internal static class TensorArgument
{
    /// <summary>The named tensor, or the file's only tensor, or its tensor called "input".</summary>
    public static Tensor Read(string argument)
    {
        var (path, name) = FileReference.Split(argument);
        if (!File.Exists(path)) throw new FileNotFoundException($"tensor file '{path}' does not exist", path);
        var file = SafeTensors.Read(path);
        name ??= file.Tensors.Count == 1 ? file.Tensors[0].Key : file.Tensors.Any(t => t.Key == "input") ? "input" : null;
        if (name is null || file.Tensors.All(t => t.Key != name))
        {
            foreach (var (_, tensor) in file.Tensors) tensor.Dispose();
            throw new ArgumentException(name is null
                ? $"{path} holds several tensors ({string.Join(", ", file.Tensors.Select(t => t.Key))}); choose one with {path}:name"
                : $"{path} has no tensor '{name}'; it holds {string.Join(", ", file.Tensors.Select(t => t.Key))}");
        }
        foreach (var (key, tensor) in file.Tensors)
        {
            if (key != name) tensor.Dispose();
        }
        return file[name];
    }
}
