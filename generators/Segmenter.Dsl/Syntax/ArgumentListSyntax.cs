using System.Collections.Generic;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary><c>( argument, … )</c> after a name.</summary>
public sealed class ArgumentListSyntax : SyntaxNode
{
    internal ArgumentListSyntax(SyntaxToken openParen, IReadOnlyList<ArgumentSyntax> arguments, SyntaxToken closeParen)
    {
        OpenParen = openParen;
        Arguments = arguments;
        CloseParen = closeParen;
    }

    /// <summary>'('</summary>
    public SyntaxToken OpenParen { get; }

    /// <summary>The arguments.</summary>
    public IReadOnlyList<ArgumentSyntax> Arguments { get; }

    /// <summary>')'</summary>
    public SyntaxToken CloseParen { get; }

    /// <inheritdoc />
    public override TextSpan Span => TextSpan.FromBounds(OpenParen.Span.Start, CloseParen.Span.End);
}
