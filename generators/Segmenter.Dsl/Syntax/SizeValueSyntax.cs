using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>A size such as 512x640 (height × width).</summary>
public sealed class SizeValueSyntax : ValueSyntax
{
    internal SizeValueSyntax(SyntaxToken token) => Token = token;

    /// <summary>The size token.</summary>
    public SyntaxToken Token { get; }

    /// <summary>Height and width.</summary>
    public SizeLiteral Literal => Token.Value is SizeLiteral literal ? literal : default;

    /// <inheritdoc />
    public override TextSpan Span => Token.Span;

    /// <inheritdoc />
    public override string Describe() => $"the size {Token.Text}";
}
