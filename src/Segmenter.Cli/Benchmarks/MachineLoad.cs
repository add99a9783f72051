using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// How much of the machine others use: from /proc/stat's busy, idle and steal time, less this process's own CPU time.
/// Other processes, and on a virtual machine the hypervisor running other machines on its cores (steal), slow every
/// figure a benchmark takes while they run.
/// </summary>
internal static class MachineLoad
{
    /// <summary>The counters at one moment: all CPUs' busy, total and stolen jiffies, and this process's CPU time.</summary>
    public readonly record struct Sample(double Busy, double Total, double Steal, TimeSpan Own, long Timestamp);

    /// <summary>What others took between two samples: the share of all cores' time (0–1) used by other processes or stolen, and the share stolen alone.</summary>
    public readonly record struct Share(double Others, double Steal);

    /// <summary>The share others took during <paramref name="window"/>, this process idle; null where /proc/stat is not readable.</summary>
    public static Share? During(TimeSpan window)
    {
        var before = Take();
        Thread.Sleep(window);
        return Between(before, Take());
    }

    /// <summary>The counters now; null where /proc/stat is not readable.</summary>
    public static Sample? Take()
    {
        var counters = Read();
        if (counters is null) return null;
        using var self = Process.GetCurrentProcess();
        return new Sample(counters.Value.Busy, counters.Value.Total, counters.Value.Steal, self.TotalProcessorTime, Stopwatch.GetTimestamp());
    }

    /// <summary>The share others took between <paramref name="before"/> and <paramref name="after"/>, whatever this process did meanwhile.</summary>
    public static Share? Between(Sample? before, Sample? after)
    {
        if (before is not { } a || after is not { } b) return null;
        double total = b.Total - a.Total, busy = b.Busy - a.Busy, seconds = Stopwatch.GetElapsedTime(a.Timestamp, b.Timestamp).TotalSeconds;
        if (total <= 0 || seconds <= 0) return null;
        double own = (b.Own - a.Own).TotalSeconds / (seconds * Environment.ProcessorCount);
        return new Share(Math.Clamp(busy / total - own, 0, 1), Math.Clamp((b.Steal - a.Steal) / total, 0, 1));
    }

    /// <summary>Busy, total and stolen jiffies of all CPUs (the first line of /proc/stat).</summary>
    private static (double Busy, double Total, double Steal)? Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            if (line is null) return null;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => double.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (fields.Length < 5) return null;
            double idle = fields[3] + fields[4];   // idle, iowait
            double total = fields.Take(8).Sum();   // user nice system idle iowait irq softirq steal
            return (total - idle, total, fields.Length > 7 ? fields[7] : 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
