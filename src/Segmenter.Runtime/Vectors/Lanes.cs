using System.Runtime.Intrinsics;

namespace Segmenter.Runtime.Vectors;

/// <summary>
/// The vector operations the project's hand-written kernels use (the fused training loss, the server's argmax), for
/// one vector width. A kernel written once against <see cref="ILanes{TVector}"/> is compiled by the JIT for each
/// width it is called with, as if written for that width: 512-bit where the CPU has AVX-512, 256-bit with AVX2, 128-bit
/// elsewhere (SSE, Arm's Neon).
/// </summary>
public static class Lanes
{
    /// <summary>The floats in the widest vector this machine computes with (16, 8 or 4), or 0 without vector hardware.</summary>
    public static int Widest =>
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 0;
}

/// <summary>Operations on vectors of float32 of one width (see <see cref="Lanes"/>). Comparisons give masks: all bits set where true.</summary>
public unsafe interface ILanes<TVector> where TVector : struct
{
    /// <summary>The floats in one vector.</summary>
    static abstract int Count { get; }
    /// <summary>The vector at <paramref name="p"/> (unaligned).</summary>
    static abstract TVector Load(float* p);
    /// <summary>Writes <paramref name="value"/> at <paramref name="p"/> (unaligned).</summary>
    static abstract void Store(float* p, TVector value);
    /// <summary><paramref name="value"/> in every lane.</summary>
    static abstract TVector Splat(float value);
    /// <summary>a + b.</summary>
    static abstract TVector Add(TVector a, TVector b);
    /// <summary>a − b.</summary>
    static abstract TVector Subtract(TVector a, TVector b);
    /// <summary>a · b.</summary>
    static abstract TVector Multiply(TVector a, TVector b);
    /// <summary>a · b + c, rounded once.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);
    /// <summary>The larger of a and b (for finite values; with a NaN, what the CPU's instruction gives).</summary>
    static abstract TVector Max(TVector a, TVector b);
    /// <summary>The smaller of a and b (for finite values; with a NaN, what the CPU's instruction gives).</summary>
    static abstract TVector Min(TVector a, TVector b);
    /// <summary>The mask of the lanes where a &gt; b.</summary>
    static abstract TVector GreaterThan(TVector a, TVector b);
    /// <summary>a where <paramref name="mask"/> is set, else b.</summary>
    static abstract TVector Select(TVector mask, TVector a, TVector b);
    /// <summary>Each lane rounded to the nearest whole number.</summary>
    static abstract TVector Round(TVector a);
    /// <summary>p · 2ⁿ for whole n in [−126, 127].</summary>
    static abstract TVector TimesPowerOfTwo(TVector p, TVector n);
}

/// <summary>512-bit vectors: 16 floats.</summary>
public readonly unsafe struct Lanes512 : ILanes<Vector512<float>>
{
    /// <inheritdoc />
    public static int Count => Vector512<float>.Count;
    /// <inheritdoc />
    public static Vector512<float> Load(float* p) => Vector512.Load(p);
    /// <inheritdoc />
    public static void Store(float* p, Vector512<float> value) => value.Store(p);
    /// <inheritdoc />
    public static Vector512<float> Splat(float value) => Vector512.Create(value);
    /// <inheritdoc />
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    /// <inheritdoc />
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    /// <inheritdoc />
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    /// <inheritdoc />
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    /// <inheritdoc />
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    /// <inheritdoc />
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    /// <inheritdoc />
    public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    /// <inheritdoc />
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);
    /// <inheritdoc />
    public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    /// <inheritdoc />
    public static Vector512<float> TimesPowerOfTwo(Vector512<float> p, Vector512<float> n) =>
        p * Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
}

/// <summary>256-bit vectors: 8 floats.</summary>
public readonly unsafe struct Lanes256 : ILanes<Vector256<float>>
{
    /// <inheritdoc />
    public static int Count => Vector256<float>.Count;
    /// <inheritdoc />
    public static Vector256<float> Load(float* p) => Vector256.Load(p);
    /// <inheritdoc />
    public static void Store(float* p, Vector256<float> value) => value.Store(p);
    /// <inheritdoc />
    public static Vector256<float> Splat(float value) => Vector256.Create(value);
    /// <inheritdoc />
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    /// <inheritdoc />
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    /// <inheritdoc />
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    /// <inheritdoc />
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    /// <inheritdoc />
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    /// <inheritdoc />
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    /// <inheritdoc />
    public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    /// <inheritdoc />
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);
    /// <inheritdoc />
    public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    /// <inheritdoc />
    public static Vector256<float> TimesPowerOfTwo(Vector256<float> p, Vector256<float> n) =>
        p * Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
}

/// <summary>128-bit vectors: 4 floats.</summary>
public readonly unsafe struct Lanes128 : ILanes<Vector128<float>>
{
    /// <inheritdoc />
    public static int Count => Vector128<float>.Count;
    /// <inheritdoc />
    public static Vector128<float> Load(float* p) => Vector128.Load(p);
    /// <inheritdoc />
    public static void Store(float* p, Vector128<float> value) => value.Store(p);
    /// <inheritdoc />
    public static Vector128<float> Splat(float value) => Vector128.Create(value);
    /// <inheritdoc />
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    /// <inheritdoc />
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    /// <inheritdoc />
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    /// <inheritdoc />
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    /// <inheritdoc />
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    /// <inheritdoc />
    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    /// <inheritdoc />
    public static Vector128<float> GreaterThan(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);
    /// <inheritdoc />
    public static Vector128<float> Select(Vector128<float> mask, Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(mask, a, b);
    /// <inheritdoc />
    public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    /// <inheritdoc />
    public static Vector128<float> TimesPowerOfTwo(Vector128<float> p, Vector128<float> n) =>
        p * Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23).AsSingle();
}
