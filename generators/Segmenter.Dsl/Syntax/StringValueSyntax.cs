using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>A double-quoted string.</summary>
public sealed class StringValueSyntax : ValueSyntax
{
    internal StringValueSyntax(SyntaxToken token) => Token = token;

    /// <summary>The string token.</summary>
    public SyntaxToken Token { get; }

    /// <summary>The string without quotes.</summary>
    public string Value => Token.Value as string ?? "";

    /// <inheritdoc />
    public override TextSpan Span => Token.Span;

    /// <inheritdoc />
    public override string Describe() => $"the string {Token.Text}";
}
