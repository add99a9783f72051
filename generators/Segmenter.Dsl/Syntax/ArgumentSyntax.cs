using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary><c>name = value</c> or a bare value inside a call.</summary>
public sealed class ArgumentSyntax : SyntaxNode
{
    internal ArgumentSyntax(SyntaxToken? name, SyntaxToken? equalsToken, ValueSyntax value)
    {
        Name = name;
        EqualsToken = equalsToken;
        Value = value;
    }

    /// <summary>The argument's name, if written.</summary>
    public SyntaxToken? Name { get; }

    /// <summary>'=' after the name.</summary>
    public SyntaxToken? EqualsToken { get; }

    /// <summary>The value.</summary>
    public ValueSyntax Value { get; }

    /// <inheritdoc />
    public override TextSpan Span => TextSpan.FromBounds(Name?.Span.Start ?? Value.Span.Start, Value.Span.End);
}
