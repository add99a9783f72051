using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// A linear layer's products in bfloat16. At inference, from a bfloat16 copy of the weights made when the precision is set
/// (so after the weights are loaded); in training, from the float32 weights cast at each call, so gradients reach the
/// float32 master weights the optimiser updates.
/// </summary>
internal sealed class ReducedPrecisionLinear : IDisposable
{
    private readonly Linear linear;
    private Tensor? weight, bias;

    public ReducedPrecisionLinear(Linear linear) => this.linear = linear;

    /// <summary>True when the products are in bfloat16.</summary>
    public bool Active { get; private set; }

    /// <summary>Sets the precision; bfloat16 (re)makes the inference copy from the weights as they are now.</summary>
    public void Set(ComputePrecision precision)
    {
        Dispose();
        Active = precision == ComputePrecision.BFloat16;
        if (!Active) return;
        using var noGrad = no_grad();
        weight = linear.weight!.detach().to(ScalarType.BFloat16);
        bias = linear.bias?.detach().to(ScalarType.BFloat16);
    }

    /// <summary>x·Wᵀ + b in bfloat16 (x is converted if it is not already); the result stays bfloat16.</summary>
    public Tensor Call(Tensor x, bool training)
    {
        var input = x.dtype == ScalarType.BFloat16 ? x : x.to(ScalarType.BFloat16);
        if (!training) return nn.functional.linear(input, weight!, bias);
        using var w = linear.weight!.to(ScalarType.BFloat16);
        using var b = linear.bias?.to(ScalarType.BFloat16);
        return nn.functional.linear(input, w, b);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        weight?.Dispose();
        bias?.Dispose();
        weight = bias = null;
    }
}
