using System.Globalization;
using System.Linq;
using System.Text;

namespace Segmenter.Cli;

/// <summary>
/// Text from files (tensor names, metadata, spec lines) made safe to print: control and bidirectional-override
/// characters shown as <c>\uXXXX</c> rather than sent to the terminal raw, and a line too long to read (a hostile
/// file's megabyte-long key) shortened to its start and a count of what was left out.
/// </summary>
public static class TerminalText
{
    /// <summary>The longest line printed whole.</summary>
    public const int MaximumLine = 2000;

    /// <summary>How much of a longer line is kept.</summary>
    private const int KeptOfLongLine = 1000;

    /// <summary><paramref name="text"/> with control characters (other than line breaks and tabs) escaped and over-long lines shortened.</summary>
    public static string Safe(string text)
    {
        if (!NeedsWork(text)) return text;
        var lines = text.Split('\n');
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0) builder.Append('\n');
            var line = Escaped(lines[i]);
            if (line.Length > MaximumLine)
                line = line.Substring(0, KeptOfLongLine) + $"… ({(line.Length - KeptOfLongLine).ToString(CultureInfo.InvariantCulture)} more characters left out)";
            builder.Append(line);
        }
        return builder.ToString();
    }

    /// <summary><paramref name="text"/> with control characters other than tabs (line breaks included) escaped, its length kept otherwise.</summary>
    public static string Escaped(string text)
    {
        if (!text.Any(Unsafe)) return text;
        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (Unsafe(c)) builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        return builder.ToString();
    }

    private static bool NeedsWork(string text)
    {
        int lineLength = 0;
        foreach (var c in text)
        {
            if (c == '\n') { lineLength = 0; continue; }
            if (Unsafe(c) || ++lineLength > MaximumLine) return true;
        }
        return false;
    }

    /// <summary>C0/C1 controls but tab, and the bidirectional embeddings, overrides and isolates that reorder what a terminal shows.</summary>
    private static bool Unsafe(char c) =>
        (char.IsControl(c) && c != '\t') || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';
}
