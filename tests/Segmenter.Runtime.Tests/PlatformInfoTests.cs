using System;
using System.IO;
using System.Linq;
using Xunit;

namespace Segmenter.Runtime.Tests;

/// <summary>What runs and benchmarks report of the machine.</summary>
public sealed class PlatformInfoTests
{
    [Fact]
    public void Physical_cores_are_the_logical_processors_less_their_siblings()
    {
        var cores = PlatformInfo.PhysicalCores;
        if (!File.Exists("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list"))
        {
            Assert.Null(cores);   // no topology to read (not Linux): unknown, not guessed
            return;
        }
        Assert.NotNull(cores);
        Assert.InRange(cores!.Value, 1, Environment.ProcessorCount);
        // Logical processors with no sibling thread each make a core of their own.
        var alone = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(cpu => $"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
            .All(path => File.Exists(path) && !File.ReadAllText(path).Trim().Contains(',') && !File.ReadAllText(path).Trim().Contains('-'));
        if (alone) Assert.Equal(Environment.ProcessorCount, cores.Value);
    }
}
