using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// Stochastic depth: in training, zeroes a whole residual branch per sample with probability <c>rate</c> and scales the rest by 1 / (1 − rate).
/// The draws come from <see cref="SampleRandomness"/>.
/// </summary>
public sealed class DropPath(double rate) : RandomDrop("drop_path", rate, "drop-path")
{
    /// <inheritdoc />
    protected override long[] MaskShape(Tensor x)
    {
        var shape = new long[x.dim()];   // [B, 1, …]: one draw per sample
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        return shape;
    }

    /// <summary>The rates of <paramref name="layers"/> blocks rising linearly from 0 to <paramref name="rate"/> (torch.linspace(0, rate, layers)).</summary>
    public static double[] Rates(double rate, int layers)
    {
        var rates = new double[layers];
        for (int i = 0; i < layers; i++) rates[i] = layers == 1 ? 0 : rate * i / (layers - 1);
        return rates;
    }
}
