using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>Tensor arithmetic that passes a long-lived alpha (see <see cref="Scalars"/>) instead of a temporary one.</summary>
public static class TensorArithmetic
{
    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, Scalars.One);

    /// <summary>a += b, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, Scalars.One);
}
