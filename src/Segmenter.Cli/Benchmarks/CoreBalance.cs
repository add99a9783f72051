using System.Collections.Generic;
using System.Linq;
using Segmenter.Training;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// Whether a split training step's cores ran at one speed. The shards of a step do the same work per image, so the
/// processor time their threads use for it should match; when one uses clearly more, its core is slower (its sibling
/// hyperthread busy with another virtual machine's work, a lower clock), and the step, which waits for its slowest shard,
/// is slower than the machine is when its cores are even. <see cref="MachineLoad"/> does not see this: the time is the
/// process's own.
/// </summary>
internal sealed class CoreBalance
{
    /// <summary>Above this spread bench warns that its training figures are held back by one slower core.</summary>
    public const double UnevenThreshold = 0.10;

    private readonly List<double> spreads = new();

    /// <summary>
    /// How much more processor time per image the slowest running shard of one step used than the fastest, as a share of
    /// the fastest's (0.18: 18 % more); null with fewer than two running shards or where a processor time is unknown.
    /// </summary>
    public static double? Spread(IReadOnlyList<ShardTimes> times)
    {
        var running = times.Where(t => t.Images > 0 && t.TotalMs > 0).ToArray();
        if (running.Length < 2 || running.Any(t => t.ComputeCpuMs is not > 0)) return null;
        var perImage = running.Select(t => t.ComputeCpuMs!.Value / t.Images).ToArray();
        return perImage.Max() / perImage.Min() - 1;
    }

    /// <summary>Adds one step's shard times.</summary>
    public void Add(IReadOnlyList<ShardTimes> times)
    {
        if (Spread(times) is { } spread) spreads.Add(spread);
    }

    public void Reset() => spreads.Clear();

    /// <summary>The median of the steps' spreads; null when no step had one.</summary>
    public double? Median() => spreads.Count == 0 ? null : Benchmark.Percentile(spreads.Order().ToArray(), 0.5);
}
