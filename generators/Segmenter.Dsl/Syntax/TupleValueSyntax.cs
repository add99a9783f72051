using System.Collections.Generic;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>A parenthesised list of values: <c>(0.5, 0.5, 0.5)</c> or <c>("sky", "road")</c>.</summary>
public sealed class TupleValueSyntax : ValueSyntax
{
    internal TupleValueSyntax(SyntaxToken openParen, IReadOnlyList<ValueSyntax> elements, SyntaxToken closeParen)
    {
        OpenParen = openParen;
        Elements = elements;
        CloseParen = closeParen;
    }

    /// <summary>'('</summary>
    public SyntaxToken OpenParen { get; }

    /// <summary>The elements.</summary>
    public IReadOnlyList<ValueSyntax> Elements { get; }

    /// <summary>')'</summary>
    public SyntaxToken CloseParen { get; }

    /// <inheritdoc />
    public override TextSpan Span => TextSpan.FromBounds(OpenParen.Span.Start, CloseParen.Span.End);

    /// <inheritdoc />
    public override string Describe() => $"a tuple of {Elements.Count}";
}
