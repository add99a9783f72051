using System;
using System.Collections.Generic;

namespace Segmenter.Dsl.Text;

/// <summary>The text of one spec file with its path and a cached table of line starts.</summary>
public sealed class SourceText
{
    private readonly int[] lineStarts;

    private SourceText(string path, string text, string displayPath, bool isLibrary, bool isHidden = false)
    {
        Path = path;
        DisplayPath = displayPath;
        IsLibrary = isLibrary;
        IsHidden = isHidden;
        Text = text;
        lineStarts = ComputeLineStarts(text);
    }

    /// <summary>The file's path as given (used in diagnostics).</summary>
    public string Path { get; }

    /// <summary>The path to show in generated code (e.g. relative to the project), so output does not depend on where a clone lives.</summary>
    public string DisplayPath { get; }

    /// <summary>True for a file of the built-in library (the zoo): its declarations can be used, its models are not emitted.</summary>
    public bool IsLibrary { get; }

    /// <summary>
    /// True for a file the user cannot see or edit (the built-in zoo): a problem found in it is reported at the
    /// user's declaration that uses it. Problems in project files are reported where they are.
    /// </summary>
    public bool IsHidden { get; }

    /// <summary>The whole text.</summary>
    public string Text { get; }

    /// <summary>The number of characters.</summary>
    public int Length => Text.Length;

    /// <summary>The character at <paramref name="position"/>, or '\0' past the end.</summary>
    public char this[int position] => position >= 0 && position < Text.Length ? Text[position] : '\0';

    /// <summary>The number of lines (a text without line breaks has one).</summary>
    public int LineCount => lineStarts.Length;

    /// <summary>Creates a source text.</summary>
    public static SourceText From(string text, string path = "", string? displayPath = null) =>
        new(path ?? "", text ?? "", displayPath ?? path ?? "", isLibrary: false);

    /// <summary>Creates a built-in library source text (see <see cref="IsLibrary"/> and <see cref="IsHidden"/>).</summary>
    public static SourceText Library(string text, string path) => new(path, text, path, isLibrary: true, isHidden: true);

    /// <summary>The text of <paramref name="span"/>.</summary>
    public string ToString(TextSpan span)
    {
        int start = Math.Min(Math.Max(0, span.Start), Text.Length);
        int end = Math.Min(Math.Max(start, span.End), Text.Length);
        return Text.Substring(start, end - start);
    }

    /// <summary>The zero-based line holding <paramref name="position"/>.</summary>
    public int GetLineIndex(int position)
    {
        position = Math.Min(Math.Max(0, position), Text.Length);
        int lower = 0, upper = lineStarts.Length - 1;
        while (lower < upper)
        {
            int middle = lower + (upper - lower + 1) / 2;
            if (lineStarts[middle] <= position) lower = middle;
            else upper = middle - 1;
        }
        return lower;
    }

    /// <summary>The line and character of <paramref name="position"/>.</summary>
    public LinePosition GetLinePosition(int position)
    {
        position = Math.Min(Math.Max(0, position), Text.Length);
        int line = GetLineIndex(position);
        return new LinePosition(line, position - lineStarts[line]);
    }

    /// <summary>The line positions of a span's start and end.</summary>
    public LinePositionSpan GetLinePositionSpan(TextSpan span) =>
        new(GetLinePosition(span.Start), GetLinePosition(span.End));

    /// <summary>The span of line <paramref name="line"/> without its line break.</summary>
    public TextSpan GetLineSpan(int line)
    {
        int start = lineStarts[line];
        int end = line + 1 < lineStarts.Length ? lineStarts[line + 1] : Text.Length;
        while (end > start && (Text[end - 1] == '\n' || Text[end - 1] == '\r')) end--;
        return TextSpan.FromBounds(start, end);
    }

    private static int[] ComputeLineStarts(string text)
    {
        var starts = new List<int> { 0 };
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\r')
            {
                if (i + 1 < text.Length && text[i + 1] == '\n') i++;
                starts.Add(i + 1);
            }
            else if (c == '\n' || c == '\u2028' || c == '\u2029' || c == '\u0085')
            {
                starts.Add(i + 1);
            }
        }
        return starts.ToArray();
    }
}
