using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// How much of the machine other processes use: from /proc/stat's busy and idle time over a short window, less this
/// process's own CPU time. A benchmark taken while other work runs on the cores measures that work too.
/// </summary>
internal static class MachineLoad
{
    /// <summary>The share of all cores' time (0–1) that other processes used during <paramref name="window"/>; null where /proc/stat is not readable.</summary>
    public static double? OtherProcesses(TimeSpan window)
    {
        var before = Read();
        if (before is null) return null;
        var self = Process.GetCurrentProcess();
        var ownBefore = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Thread.Sleep(window);
        var after = Read();
        self.Refresh();
        var ownAfter = self.TotalProcessorTime;
        if (after is null) return null;
        double total = after.Value.Total - before.Value.Total, busy = after.Value.Busy - before.Value.Busy;
        if (total <= 0) return null;
        double own = (ownAfter - ownBefore).TotalSeconds / (clock.Elapsed.TotalSeconds * Environment.ProcessorCount);
        return Math.Clamp(busy / total - own, 0, 1);
    }

    /// <summary>Busy and total jiffies of all CPUs (the first line of /proc/stat).</summary>
    private static (double Busy, double Total)? Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            if (line is null) return null;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => double.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (fields.Length < 5) return null;
            double idle = fields[3] + fields[4];   // idle, iowait
            double total = fields.Take(8).Sum();   // user nice system idle iowait irq softirq steal
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
