using System;
using System.IO;
using System.Linq;

namespace Segmenter.Cli.Benchmarks;

/// <summary>Resident memory of this process from /proc (Linux): current, and the peak since the last reset.</summary>
internal static class MemoryProbe
{
    /// <summary>
    /// Returns freed memory to the system — the .NET heap's (a blocking, compacting, aggressive collection, which also
    /// decommits what it freed) and glibc's (malloc_trim) — then resets the kernel's peak-RSS mark (VmHWM) by writing 5 to
    /// /proc/self/clear_refs: memory freed by an earlier benchmark, or by the export before an ONNX one, then neither hides
    /// the next one's allocations nor, decommitted later, is subtracted from them.
    /// </summary>
    public static void ResetPeak()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        Segmenter.Runtime.NativeSettings.ReleaseFreedMemory();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: the peak then covers the process's whole life.
        }
    }

    /// <summary>VmRSS in bytes (0 where /proc is not available).</summary>
    public static long CurrentRss() => Read("VmRSS:");

    /// <summary>VmHWM in bytes (0 where /proc is not available).</summary>
    public static long PeakRss() => Read("VmHWM:");

    private static long Read(string field)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            if (line is null) return 0;
            var kilobytes = long.Parse(line.Substring(field.Length).Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            return kilobytes * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
