using System;
using System.Diagnostics;
using Segmenter.Cli.Benchmarks;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>What others took of the machine between two readings of /proc/stat and of this process's CPU time.</summary>
public sealed class MachineLoadTests
{
    private static MachineLoad.Sample At(double seconds, double busy, double total, double steal, double ownSeconds) =>
        new(busy, total, steal, TimeSpan.FromSeconds(ownSeconds), (long)(seconds * Stopwatch.Frequency));

    [Fact]
    public void Others_are_the_busy_time_this_process_did_not_use_and_steal_is_counted_apart()
    {
        int cores = Environment.ProcessorCount;
        // 10 s on every core: 1000 jiffies a core at 100 a second; three quarters busy, a tenth stolen; this process used half the cores' time.
        var before = At(100, busy: 5000, total: 20000, steal: 300, ownSeconds: 2);
        var after = At(110, busy: 5000 + 750 * cores, total: 20000 + 1000 * cores, steal: 300 + 100 * cores, ownSeconds: 2 + 5 * cores);
        var share = MachineLoad.Between(before, after);
        Assert.NotNull(share);
        Assert.Equal(0.25, share.Value.Others, 9);
        Assert.Equal(0.10, share.Value.Steal, 9);
    }

    [Fact]
    public void A_process_that_used_every_core_leaves_nothing_to_others_and_missing_readings_give_nothing()
    {
        int cores = Environment.ProcessorCount;
        var before = At(0, busy: 0, total: 0, steal: 0, ownSeconds: 0);
        var after = At(10, busy: 1000 * cores, total: 1000 * cores, steal: 0, ownSeconds: 10.2 * cores);   // its own time read a little high
        Assert.Equal(0, MachineLoad.Between(before, after)!.Value.Others);
        Assert.Null(MachineLoad.Between(null, after));
        Assert.Null(MachineLoad.Between(before, before));   // no time passed
    }

    [Fact]
    public void The_machine_can_be_read_here()
    {
        if (!System.IO.File.Exists("/proc/stat")) return;   // only Linux has /proc/stat; elsewhere the bench reports null
        var share = MachineLoad.During(TimeSpan.FromMilliseconds(300));
        Assert.NotNull(share);
        Assert.InRange(share.Value.Others, 0, 1);
        Assert.InRange(share.Value.Steal, 0, 1);
    }
}
