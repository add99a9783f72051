using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>A number such as 12, 0.1 or 1e-5.</summary>
public sealed class NumberValueSyntax : ValueSyntax
{
    internal NumberValueSyntax(SyntaxToken token) => Token = token;

    /// <summary>The number token.</summary>
    public SyntaxToken Token { get; }

    /// <summary>The number and whether it was written as an integer.</summary>
    public NumberLiteral Literal => Token.Value is NumberLiteral literal ? literal : default;

    /// <inheritdoc />
    public override TextSpan Span => Token.Span;

    /// <inheritdoc />
    public override string Describe() => $"the number {Token.Text}";
}
