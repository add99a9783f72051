using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// A linear layer's bfloat16 copy for inference: made from the float32 weights when the precision is set (so after the
/// weights are loaded), freed when it is set back. The float32 parameters stay the model's weights.
/// </summary>
internal sealed class ReducedPrecisionLinear : IDisposable
{
    private Tensor? weight, bias;

    /// <summary>True while a bfloat16 copy exists.</summary>
    public bool Active => weight is not null;

    /// <summary>Makes (or frees, for float32) the copy of <paramref name="linear"/>'s weights.</summary>
    public void Set(Linear linear, ComputePrecision precision)
    {
        Dispose();
        if (precision != ComputePrecision.BFloat16) return;
        using var noGrad = no_grad();
        weight = linear.weight!.detach().to(ScalarType.BFloat16);
        bias = linear.bias?.detach().to(ScalarType.BFloat16);
    }

    /// <summary>x·Wᵀ + b in bfloat16 (x is converted if it is not already); the result stays bfloat16.</summary>
    public Tensor Call(Tensor x) => nn.functional.linear(x.dtype == ScalarType.BFloat16 ? x : x.to(ScalarType.BFloat16), weight!, bias);

    /// <inheritdoc />
    public void Dispose()
    {
        weight?.Dispose();
        bias?.Dispose();
        weight = bias = null;
    }
}
