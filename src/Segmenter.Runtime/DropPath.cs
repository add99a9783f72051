using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// Stochastic depth: in training, zeroes a whole residual branch per sample with probability <c>rate</c> and scales the rest by 1 / (1 − rate).
/// The draws come from <see cref="SampleRandomness"/>.
/// </summary>
public sealed class DropPath : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public DropPath(double rate) : base("drop_path")
    {
        if (rate < 0 || rate >= 1) throw new ArgumentOutOfRangeException(nameof(rate), $"drop-path rate must be in [0, 1), got {rate}");
        Rate = rate;
    }

    /// <summary>The probability of dropping the branch.</summary>
    public double Rate { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training || Rate == 0) return x;
        double keep = 1 - Rate;
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        using var mask = SampleRandomness.ScaledKeepMask(shape, keep, x.dtype, x.device);   // [B, 1, …]: scale the mask, not the activations (as timm)
        return x.mul(mask);
    }

    /// <summary>The rates of <paramref name="layers"/> blocks rising linearly from 0 to <paramref name="rate"/> (torch.linspace(0, rate, layers)).</summary>
    public static double[] Rates(double rate, int layers)
    {
        var rates = new double[layers];
        for (int i = 0; i < layers; i++) rates[i] = layers == 1 ? 0 : rate * i / (layers - 1);
        return rates;
    }
}
