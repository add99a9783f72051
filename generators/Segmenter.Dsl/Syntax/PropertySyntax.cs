using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary><c>name = value</c>.</summary>
public sealed class PropertySyntax : SyntaxNode
{
    internal PropertySyntax(SyntaxToken name, SyntaxToken equalsToken, ValueSyntax value)
    {
        Name = name;
        EqualsToken = equalsToken;
        Value = value;
    }

    /// <summary>The property's name.</summary>
    public SyntaxToken Name { get; }

    /// <summary>'='</summary>
    public SyntaxToken EqualsToken { get; }

    /// <summary>The value.</summary>
    public ValueSyntax Value { get; }

    /// <inheritdoc />
    public override TextSpan Span => TextSpan.FromBounds(Name.Span.Start, Value.Span.End);
}
