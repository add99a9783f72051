using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Segmenter.Training.Records;

namespace Segmenter.Cli;

/// <summary>
/// Progress of long work. In a terminal: one line redrawn in place — a bar, the count, the recent rate and the ETA
/// (days included). Redirected (a log file, a pipe, CI): a plain line at the start, at least every
/// <see cref="Interval"/> (and whenever the caller marks a step as worth a line), and at the end.
/// </summary>
internal sealed class ProgressLine : IDisposable
{
    private const int BarWidth = 24;

    private readonly TextWriter writer;
    private readonly bool interactive;
    private readonly string label;
    private readonly string unit;
    private readonly long total;
    private readonly RateWindow rate = new();
    private readonly Stopwatch sinceLine = Stopwatch.StartNew();
    private string shown = "";
    private bool printedAny;
    private bool finished;

    /// <summary>A progress line for <paramref name="total"/> <paramref name="unit"/> of work called <paramref name="label"/>, written to <paramref name="writer"/>.</summary>
    public ProgressLine(TextWriter writer, string label, long total, string unit)
    {
        this.writer = writer;
        interactive = (writer == Console.Out && !Console.IsOutputRedirected) || (writer == Console.Error && !Console.IsErrorRedirected);
        this.label = label;
        this.unit = unit;
        this.total = Math.Max(1, total);
    }

    /// <summary>The longest time between two lines when the output is redirected.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Records that <paramref name="done"/> units are complete; <paramref name="detail"/> is shown after the counts.</summary>
    /// <param name="done">Units complete.</param>
    /// <param name="detail">Extra text (for example the loss).</param>
    /// <param name="worthALine">Redirected output: write a line now even if the interval has not passed.</param>
    public void Report(long done, string? detail = null, bool worthALine = false)
    {
        rate.Observe(done);
        var text = Text(done, detail);
        if (interactive)
        {
            Draw(text);
            if (done >= total) Finish();
            return;
        }
        if (!printedAny || worthALine || done >= total || sinceLine.Elapsed >= Interval)
        {
            writer.WriteLine(text);
            writer.Flush();
            printedAny = true;
            sinceLine.Restart();
        }
    }

    /// <summary>Writes a line of its own (a note) without breaking the progress line.</summary>
    public void Note(string line)
    {
        if (interactive && shown.Length > 0)
        {
            writer.Write("\r" + new string(' ', shown.Length) + "\r");
            writer.WriteLine(line);
            writer.Write(shown);
            writer.Flush();
            return;
        }
        writer.WriteLine(line);
    }

    /// <summary>Erases the line in a terminal (another progress line takes its place for a while); the next report redraws it.</summary>
    public void Clear()
    {
        if (!interactive || shown.Length == 0) return;
        writer.Write("\r" + new string(' ', shown.Length) + "\r");
        writer.Flush();
        shown = "";
    }

    /// <summary>Ends the progress line (a terminal's cursor moves below it).</summary>
    public void Dispose() => Finish();

    private void Finish()
    {
        if (finished) return;
        finished = true;
        if (interactive && shown.Length > 0)
        {
            writer.WriteLine();
            writer.Flush();
        }
        shown = "";   // notes after the end are plain lines
    }

    private void Draw(string text)
    {
        int width = Math.Max(40, SafeWidth() - 1);
        if (text.Length > width) text = text[..width];
        writer.Write("\r" + text + (shown.Length > text.Length ? new string(' ', shown.Length - text.Length) : ""));
        writer.Flush();
        shown = text;
    }

    private string Text(long done, string? detail)
    {
        double fraction = Math.Clamp((double)done / total, 0, 1);
        string counts = string.Create(CultureInfo.InvariantCulture, $"{label} {done}/{total} {unit}");
        string speed = RateText();
        string eta = done >= total ? "done" : "ETA " + RateWindow.Format(rate.Remaining(total));
        string extra = string.IsNullOrEmpty(detail) ? "" : "  " + detail;
        if (!interactive) return $"{counts}{extra}  {speed}  {eta}";
        int filled = (int)Math.Round(fraction * BarWidth);
        return $"{counts} [{new string('#', filled)}{new string('.', BarWidth - filled)}] {100 * fraction,3:F0}%{extra}  {speed}  {eta}";
    }

    private string RateText()
    {
        double perSecond = rate.PerSecond;
        if (perSecond <= 0) return $"? {unit}/s";
        return perSecond >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{perSecond:F2} {unit}/s")
            : string.Create(CultureInfo.InvariantCulture, $"{1 / perSecond:F2} s/{Singular(unit)}");
    }

    private static string Singular(string unit) => unit.EndsWith('s') ? unit[..^1] : unit;

    private static int SafeWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 120;
        }
        catch (IOException)
        {
            return 120;
        }
    }
}
