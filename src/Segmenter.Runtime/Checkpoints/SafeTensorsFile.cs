using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>A safetensors file: named tensors in file order, and its string metadata.</summary>
/// <param name="Tensors">The tensors (on the CPU), in the order of the file's data.</param>
/// <param name="Metadata">The <c>__metadata__</c> strings (empty if none).</param>
public sealed record SafeTensorsFile(IReadOnlyList<KeyValuePair<string, Tensor>> Tensors, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The tensor called <paramref name="name"/>; a clear error naming the file's tensors if there is none.</summary>
    public Tensor this[string name] =>
        Tensors.FirstOrDefault(t => t.Key == name).Value
        ?? throw new KeyNotFoundException($"no tensor '{name}'; the file holds {string.Join(", ", Tensors.Select(t => t.Key))}");
}
