using System;
using System.Linq;
using Xunit;

namespace Segmenter.Runtime.Tests;

/// <summary>The counter-based dropout masks: each element is its hash's verdict, however the mask is filled, and the verdicts have the asked-for statistics.</summary>
public sealed class KeepMasksTests
{
    private static float[] Mask(long first, int count, double keep, ulong key, int threads)
    {
        var mask = new float[count];
        Array.Fill(mask, float.NaN);   // every element must be written
        KeepMasks.Fill(mask, first, keep, 2f, key, threads);
        return mask;
    }

    [Theory]
    [InlineData(0L, 1_000_003, 1)]
    [InlineData(0L, 1_000_003, 2)]
    [InlineData(17L, 70_001, 3)]
    [InlineData(4_294_967_296L - 21, 77, 1)]   // across the index's 32-bit boundary, where the second round's key changes
    public void Every_element_is_its_hashs_verdict_whatever_the_vectors_and_threads(long first, int count, int threads)
    {
        const double keep = 0.7;
        ulong key = 0x1234_5678_9ABC_DEF0;
        var mask = Mask(first, count, keep, key, threads);
        uint threshold = KeepMasks.Threshold(keep);
        for (int i = 0; i < count; i++)
        {
            float expected = KeepMasks.Hash((ulong)(first + i), (uint)key, (uint)(key >> 32)) < threshold ? 2f : 0f;
            if (mask[i] != expected) Assert.Fail($"element {first + i}: {mask[i]}, its hash says {expected}");
        }
    }

    [Theory]
    [InlineData(0.9)]
    [InlineData(0.5)]
    [InlineData(0.1)]
    public void The_kept_share_and_neighbouring_pairs_are_as_independent_draws_give(double keep)
    {
        const int count = 1 << 20;
        var mask = Mask(0, count, keep, 42, 1);
        double kept = mask.Count(v => v != 0) / (double)count;
        double both = Enumerable.Range(0, count - 1).Count(i => mask[i] != 0 && mask[i + 1] != 0) / (double)(count - 1);
        // Six binomial standard deviations (at most 0.0005 and 0.0006 for a million draws).
        Assert.InRange(kept, keep - 0.003, keep + 0.003);
        Assert.InRange(both, keep * keep - 0.004, keep * keep + 0.004);
    }

    [Fact]
    public void One_element_masks_under_consecutive_keys_are_independent_draws_too()
    {
        // Drop-path masks have one element per sample, each under its own key.
        const int keys = 100_000;
        int kept = Enumerable.Range(0, keys).Count(k => Mask(0, 1, 0.5, (ulong)k, 1)[0] != 0);
        Assert.InRange(kept / (double)keys, 0.49, 0.51);
    }

    [Fact]
    public void A_key_gives_one_mask_and_another_key_another()
    {
        var first = Mask(0, 4096, 0.5, 7, 1);
        Assert.Equal(first, Mask(0, 4096, 0.5, 7, 2));
        var other = Mask(0, 4096, 0.5, 8, 1);
        double agreement = first.Zip(other).Count(p => p.First == p.Second) / 4096.0;
        Assert.InRange(agreement, 0.45, 0.55);   // unrelated masks agree about half the time at keep 0.5
    }

    [Fact]
    public void Keeping_everything_or_nothing_is_exact()
    {
        Assert.All(Mask(0, 1000, 1.0, 3, 1), v => Assert.Equal(2f, v));
        Assert.All(Mask(0, 1000, 0.0, 3, 1), v => Assert.Equal(0f, v));
    }
}
