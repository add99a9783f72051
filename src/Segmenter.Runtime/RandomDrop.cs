using System;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// A layer that, in training, multiplies its input by a random mask of zeros (with probability <see cref="Rate"/>) and
/// 1 / (1 − rate) elsewhere, drawn by <see cref="SampleRandomness"/>; the identity in evaluation. It has no parameters
/// or buffers, so it adds no state-dict keys.
/// </summary>
public abstract class RandomDrop : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer; <paramref name="what"/> names it in the error for a rate out of [0, 1).</summary>
    protected RandomDrop(string name, double rate, string what) : base(name)
    {
        if (rate < 0 || rate >= 1) throw new ArgumentOutOfRangeException(nameof(rate), $"{what} rate must be in [0, 1), got {rate}");
        Rate = rate;
    }

    /// <summary>The probability of dropping.</summary>
    public double Rate { get; }

    /// <summary>The shape of the mask for <paramref name="x"/>, its first dimension the batch (broadcast over the rest).</summary>
    protected abstract long[] MaskShape(Tensor x);

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training || Rate == 0) return x;
        using var mask = SampleRandomness.ScaledKeepMask(MaskShape(x), 1 - Rate, x.dtype, x.device);   // scale the mask, not the activations (as timm)
        return x.mul(mask);
    }
}
