using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Segmenter.Training.Records;

/// <summary>
/// A rate over the recent past (the last <see cref="Span"/> of work, at least two observations), not the average since
/// the start: a run that slows down, or whose first steps were slow, shows what it does now. Gives the ETA too.
/// </summary>
public sealed class RateWindow
{
    private readonly Queue<(double Seconds, double Done)> points = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private (double Seconds, double Done) last;

    /// <summary>How far back the rate looks.</summary>
    public TimeSpan Span { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Records that <paramref name="done"/> units are complete now (counted from any origin: a resumed run's step).</summary>
    public void Observe(double done)
    {
        double now = clock.Elapsed.TotalSeconds;
        // The window starts when the work starts, one unit before the first observation (every caller reports after a
        // unit is done): a resumed run's first step counts as one step, not as all the steps before it.
        if (points.Count == 0) points.Enqueue((0, Math.Max(0, done - 1)));
        last = (now, done);
        points.Enqueue(last);
        while (points.Count > 2 && now - points.Peek().Seconds > Span.TotalSeconds) points.Dequeue();
    }

    /// <summary>Units per second over the window; 0 before there is any.</summary>
    public double PerSecond
    {
        get
        {
            if (points.Count < 2) return 0;
            var first = points.Peek();
            double seconds = last.Seconds - first.Seconds;
            return seconds > 0 ? (last.Done - first.Done) / seconds : 0;
        }
    }

    /// <summary>The time left for <paramref name="total"/> units at the recent rate (null while unknown).</summary>
    public TimeSpan? Remaining(double total)
    {
        double rate = PerSecond;
        if (rate <= 0 || points.Count < 2) return null;
        double seconds = Math.Max(0, total - last.Done) / rate;
        return seconds < TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
    }

    /// <summary>A duration as people read it: <c>42s</c>, <c>05:42</c>, <c>3:05:42</c>, <c>66d 05:42:42</c>; "?" while unknown.</summary>
    public static string Format(TimeSpan? time)
    {
        if (time is not { } t) return "?";
        if (t >= TimeSpan.FromDays(1)) return $"{(long)t.TotalDays}d {t.Hours:00}:{t.Minutes:00}:{t.Seconds:00}";
        if (t >= TimeSpan.FromHours(1)) return $"{t.Hours}:{t.Minutes:00}:{t.Seconds:00}";
        if (t >= TimeSpan.FromMinutes(1)) return $"{t.Minutes:00}:{t.Seconds:00}";
        return $"{t.Seconds}s";
    }
}
