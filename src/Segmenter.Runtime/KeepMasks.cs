using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace Segmenter.Runtime;

/// <summary>
/// Dropout masks from a counter-based generator: element i of a mask keyed by (k₀, k₁) is kept when
/// <c>Hash(i, k₀, k₁) &lt; keep · 2³²</c>, where <c>Hash</c> is two rounds of a 32-bit integer mixer (Wellons' "lowbias32",
/// a bijection whose every output bit depends on every input bit), the first on the index, the second on that result with
/// the key's other half and the index's upper bits. Each element is computed on its own, so a mask is filled with vectors
/// and split across threads in any way with the same result, and the key (drawn from a sample's generator) makes it
/// reproducible. libtorch's <c>bernoulli_</c> with a generator draws one Mersenne-twister number per element, one at a
/// time: 46 ms for the 8.3 million attention weights of one image in a mask-transformer layer (6 heads, 1174 tokens) on
/// one core of this project's development machine, more than the layer's products.
/// </summary>
internal static class KeepMasks
{
    /// <summary>Elements a thread takes at a time when a mask is split across threads.</summary>
    private const int Piece = 1 << 16;

    /// <summary>
    /// Fills <paramref name="count"/> floats at <paramref name="mask"/> — elements [<paramref name="first"/>, <paramref name="first"/> +
    /// <paramref name="count"/>) of the mask keyed by <paramref name="key"/> — with <paramref name="value"/> where kept
    /// (probability <paramref name="keep"/>) and 0 elsewhere, on up to <paramref name="threads"/> threads.
    /// </summary>
    public static unsafe void Fill(float* mask, long first, long count, double keep, float value, ulong key, int threads)
    {
        uint threshold = Threshold(keep);
        bool all = keep >= 1;
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        long pieces = (count + Piece - 1) / Piece;
        if (threads <= 1 || pieces == 1)
        {
            Run(mask - first, first, first + count, threshold, all, value, k0, k1);
            return;
        }
        var origin = (IntPtr)(mask - first);
        Parallel.For(0, pieces, new ParallelOptions { MaxDegreeOfParallelism = threads },
            piece => Run((float*)origin, first + piece * Piece, first + Math.Min(count, (piece + 1) * Piece), threshold, all, value, k0, k1));
    }

    /// <summary><see cref="Fill(float*, long, long, double, float, ulong, int)"/> into <paramref name="mask"/>: elements [<paramref name="first"/>, <paramref name="first"/> + its length).</summary>
    public static unsafe void Fill(Span<float> mask, long first, double keep, float value, ulong key, int threads)
    {
        fixed (float* data = mask) Fill(data, first, mask.Length, keep, value, key, threads);
    }

    /// <summary>keep · 2³², the bound below which a hash is kept (a probability within 2⁻³³ of <paramref name="keep"/>).</summary>
    public static uint Threshold(double keep) => keep >= 1 ? uint.MaxValue : keep <= 0 ? 0 : (uint)Math.Round(keep * 4294967296.0);

    /// <summary>The mixer's two rounds for element <paramref name="index"/> of the mask keyed by (<paramref name="k0"/>, <paramref name="k1"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ulong index, uint k0, uint k1) => Mix(Mix((uint)index ^ k0) + (k1 + (uint)(index >> 32) * 0x9E3779B9u));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        return x ^ (x >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Mix(Vector<uint> x)
    {
        x ^= Vector.ShiftRightLogical(x, 16);
        x *= new Vector<uint>(0x7FEB352Du);
        x ^= Vector.ShiftRightLogical(x, 15);
        x *= new Vector<uint>(0x846CA68Bu);
        return x ^ Vector.ShiftRightLogical(x, 16);
    }

    /// <summary>Elements [start, end) of the mask whose element 0 is at <paramref name="mask"/> (only [start, end) is written); the index's upper 32 bits are constant within 2³²-element blocks.</summary>
    private static unsafe void Run(float* mask, long start, long end, uint threshold, bool all, float value, uint k0, uint k1)
    {
        var kept = new Vector<float>(value);
        var lanes = Vector<uint>.Indices;
        var limit = new Vector<uint>(threshold);
        var first = new Vector<uint>(k0);
        long i = start;
        while (i < end)
        {
            long blockEnd = Math.Min(end, ((i >> 32) + 1) << 32);
            var second = new Vector<uint>(k1 + (uint)(i >> 32) * 0x9E3779B9u);
            for (; i + Vector<uint>.Count <= blockEnd; i += Vector<uint>.Count)
            {
                var hash = Mix(Mix((new Vector<uint>((uint)i) + lanes) ^ first) + second);
                var keep = all ? Vector<float>.AllBitsSet : Vector.AsVectorSingle(Vector.LessThan(hash, limit));
                Vector.ConditionalSelect(keep, kept, Vector<float>.Zero).Store(mask + i);
            }
            for (; i < blockEnd; i++) mask[i] = all || Hash((ulong)i, k0, k1) < threshold ? value : 0f;
        }
    }
}
