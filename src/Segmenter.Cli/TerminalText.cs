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

    /// <summary>
    /// The columns <paramref name="text"/> takes on a terminal once <see cref="Escaped"/>: six for an escaped character,
    /// two for a wide (East Asian, emoji) one, none for a combining mark or a zero-width format character, one otherwise.
    /// </summary>
    public static int Columns(string text)
    {
        int columns = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.IsBmp && Unsafe((char)rune.Value)) columns += 6;
            else if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format) { }
            else columns += IsWide(rune.Value) ? 2 : 1;
        }
        return columns;
    }

    /// <summary>Characters terminals draw two columns wide: East Asian wide and full-width forms, and emoji.</summary>
    private static bool IsWide(int c) =>
        c is >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0x303E or >= 0x3041 and <= 0x33FF or >= 0x3400 and <= 0x4DBF
            or >= 0x4E00 and <= 0x9FFF or >= 0xA000 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x20000 and <= 0x3FFFD;

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
