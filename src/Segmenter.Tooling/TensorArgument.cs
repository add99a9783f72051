using System;
using System.IO;
using System.Linq;
using Segmenter.Runtime.Checkpoints;
using static TorchSharp.torch;

namespace Segmenter.Tooling;

/// <summary>Reading a tensor argument of the form <c>file.safetensors[:name]</c>.</summary>
public static class TensorArgument
{
    /// <summary>The named tensor, or the file's only tensor, or its tensor called "input".</summary>
    public static Tensor Read(string argument)
    {
        var (path, name) = PathArgument.Split(argument);
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
