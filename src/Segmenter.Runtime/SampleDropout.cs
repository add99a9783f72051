using System;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// Dropout (as <c>nn.Dropout</c>: in training, zeroes each element with probability <c>rate</c> and scales the rest by
/// 1 / (1 − rate)) whose masks come from <see cref="SampleRandomness"/>, so that a sample's mask does not depend on the
/// rest of its batch while a trainer gives one generator per sample. It has no parameters or buffers: state-dict keys are
/// those of <c>nn.Dropout</c>, none.
/// </summary>
public sealed class SampleDropout : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public SampleDropout(double rate) : base("dropout")
    {
        if (rate < 0 || rate >= 1) throw new ArgumentOutOfRangeException(nameof(rate), $"dropout rate must be in [0, 1), got {rate}");
        Rate = rate;
    }

    /// <summary>The probability of zeroing an element.</summary>
    public double Rate { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training || Rate == 0) return x;
        using var mask = SampleRandomness.ScaledKeepMask(x.shape, 1 - Rate, x.dtype, x.device);
        return x.mul(mask);
    }
}
