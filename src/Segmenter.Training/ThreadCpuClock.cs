using System;
using System.Runtime.InteropServices;

namespace Segmenter.Training;

/// <summary>The processor time the calling thread has used, user and system (the kernel's per-thread clock).</summary>
internal static class ThreadCpuClock
{
    /// <summary>The calling thread's processor time so far; null off Linux or where the C library does not offer the clock.</summary>
    public static TimeSpan? Now()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            return GetTime(ThreadCpuTime, out var time) == 0 ? TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Linux's CLOCK_THREAD_CPUTIME_ID.</summary>
    private const int ThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int GetTime(int clock, out TimeSpec time);
}
