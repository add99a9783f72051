using System;
using System.IO;
using System.Linq;

namespace Segmenter.Cli.Benchmarks;

/// <summary>Resident memory of this process from /proc (Linux): current, and the peak since the last reset.</summary>
internal static class MemoryProbe
{
    /// <summary>
    /// Returns freed heap memory to the system (glibc's malloc_trim), then resets the kernel's peak-RSS mark
    /// (VmHWM) by writing 5 to /proc/self/clear_refs: memory freed by an earlier benchmark then no longer hides
    /// the next one's allocations.
    /// </summary>
    public static void ResetPeak()
    {
        try
        {
            malloc_trim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: nothing to trim.
        }
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: the peak then covers the process's whole life.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);

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
