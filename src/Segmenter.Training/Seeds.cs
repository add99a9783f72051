namespace Segmenter.Training;

/// <summary>
/// Deterministic seeds derived from a base seed and indices (SplitMix64), identical in every process —
/// unlike <see cref="System.HashCode"/>, which is randomised per process — so that resumed runs and
/// regenerated datasets repeat exactly.
/// </summary>
public static class Seeds
{
    /// <summary>A 32-bit seed mixing <paramref name="seed"/> with <paramref name="indices"/>.</summary>
    public static int Mix(long seed, params long[] indices)
    {
        ulong state = (ulong)seed;
        foreach (var index in indices) state = SplitMix(state ^ SplitMix((ulong)index + 0x9E3779B97F4A7C15UL));
        return (int)(SplitMix(state) & 0x7FFFFFFF);
    }

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
