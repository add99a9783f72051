using System;

namespace Segmenter.Dsl.Text;

/// <summary>A range of characters in a source text: [Start, Start + Length).</summary>
public readonly record struct TextSpan(int Start, int Length)
{
    /// <summary>The first position after the span.</summary>
    public int End => Start + Length;

    /// <summary>A span from <paramref name="start"/> up to (not including) <paramref name="end"/>.</summary>
    public static TextSpan FromBounds(int start, int end) => new(start, Math.Max(0, end - start));

    /// <summary>True if <paramref name="position"/> lies in the span (or, for an empty span, equals its start).</summary>
    public bool Contains(int position) => position >= Start && (position < End || (Length == 0 && position == Start));

    /// <inheritdoc />
    public override string ToString() => $"[{Start}..{End})";
}
