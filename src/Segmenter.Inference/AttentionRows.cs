using System;
using static TorchSharp.torch;

namespace Segmenter.Inference;

/// <summary>Attention rows over a patch grid; disposing frees the tensor.</summary>
/// <param name="Rows">[heads, GridHeight · GridWidth] on the CPU.</param>
/// <param name="GridHeight">Patch rows.</param>
/// <param name="GridWidth">Patch columns.</param>
public sealed record AttentionRows(Tensor Rows, int GridHeight, int GridWidth) : IDisposable
{
    /// <summary>The number of heads.</summary>
    public int Heads => (int)Rows.shape[0];

    /// <inheritdoc />
    public void Dispose() => Rows.Dispose();
}
