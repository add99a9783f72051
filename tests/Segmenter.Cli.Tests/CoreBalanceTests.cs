using Segmenter.Cli.Benchmarks;
using Segmenter.Training;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>How evenly a split training step's cores ran, from its shards' processor times.</summary>
public sealed class CoreBalanceTests
{
    private static ShardTimes Shard(long images, double? cpuMs) => new(images, 100, 200, 0, 1, cpuMs);

    [Fact]
    public void The_spread_is_the_slowest_shards_extra_time_per_image_over_the_fastests()
    {
        Assert.Equal(0.18, CoreBalance.Spread(new[] { Shard(1, 590), Shard(1, 500) })!.Value, 9);
        // Per image: a shard of two images that used 1000 ms ran as fast as one of one image that used 500.
        Assert.Equal(0, CoreBalance.Spread(new[] { Shard(2, 1000), Shard(1, 500) })!.Value, 9);
        Assert.Equal(0.5, CoreBalance.Spread(new[] { Shard(1, 400), Shard(1, 600), Shard(1, 500) })!.Value, 9);
    }

    [Fact]
    public void Without_two_running_shards_or_a_known_time_there_is_no_spread()
    {
        Assert.Null(CoreBalance.Spread(new[] { Shard(2, 900) }));
        Assert.Null(CoreBalance.Spread(new[] { Shard(1, 500), Shard(1, null) }));
        // A shard that was not run (no labelled pixel) reports zeros and is left out.
        Assert.Null(CoreBalance.Spread(new[] { Shard(1, 500), new ShardTimes(1, 0, 0, 0, 0, 0) }));
    }

    [Fact]
    public void The_reported_spread_is_the_median_over_the_timed_steps()
    {
        var balance = new CoreBalance();
        Assert.Null(balance.Median());
        balance.Add(new[] { Shard(1, 900), Shard(1, 100) });   // a warm-up step, cleared
        balance.Reset();
        foreach (var slower in new double[] { 510, 530, 600, 520 }) balance.Add(new[] { Shard(1, 500), Shard(1, slower) });
        balance.Add(new[] { Shard(1, 500) });   // one shard: nothing to compare
        Assert.Equal(0.05, balance.Median()!.Value, 9);   // the median of 2 %, 4 %, 6 % and 20 %
    }
}
