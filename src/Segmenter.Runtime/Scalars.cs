using System.Collections.Concurrent;
using TorchSharp;

namespace Segmenter.Runtime;

/// <summary>
/// Long-lived TorchSharp scalars. TorchSharp 0.107's <see cref="Scalar"/> holds a raw native pointer
/// and frees it in a finalizer, so a temporary scalar — the <c>1</c> that <c>a + b</c> passes as alpha,
/// or a number converted implicitly — can be finalized by a garbage collection while the native call
/// still reads it (seen here as random "toFloat" failures while background workers allocate). Hot
/// paths therefore pass scalars cached here, which are never collected, or scalars held by a
/// <c>using</c> until the call returns.
/// </summary>
public static class Scalars
{
    private static readonly ConcurrentDictionary<double, Scalar> Doubles = new();
    private static readonly ConcurrentDictionary<long, Scalar> Longs = new();

    /// <summary>The integer 1 (valid as alpha for floating and integer tensors).</summary>
    public static Scalar One { get; } = Of(1L);

    /// <summary>A cached floating scalar (for values that recur: constants, rates).</summary>
    public static Scalar Of(double value) => Doubles.GetOrAdd(value, v => v.ToScalar());

    /// <summary>A cached integer scalar.</summary>
    public static Scalar Of(long value) => Longs.GetOrAdd(value, v => v.ToScalar());
}
