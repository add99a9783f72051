using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>A token: its kind, span and text, and for literals the value.</summary>
public sealed class SyntaxToken
{
    internal SyntaxToken(SyntaxKind kind, TextSpan span, string text, object? value = null, bool isMissing = false, string? documentation = null)
    {
        Kind = kind;
        Span = span;
        Text = text;
        Value = value;
        IsMissing = isMissing;
        Documentation = documentation;
    }

    /// <summary>The kind of token.</summary>
    public SyntaxKind Kind { get; }

    /// <summary>Where it is.</summary>
    public TextSpan Span { get; }

    /// <summary>Its text ("" for a token the parser inserted).</summary>
    public string Text { get; }

    /// <summary>For a number: a <see cref="NumberLiteral"/>; for a size: a <see cref="SizeLiteral"/>; for a string: its <see cref="string"/> value.</summary>
    public object? Value { get; }

    /// <summary>True for a token the parser inserted after reporting that it was missing.</summary>
    public bool IsMissing { get; }

    /// <summary>The text of the '///' comment lines right before the token, if any.</summary>
    public string? Documentation { get; }

    /// <summary>How the token reads in a message: its text in quotes, or a description.</summary>
    public string Describe() => Kind switch
    {
        SyntaxKind.EndOfFile => "the end of the file",
        _ when IsMissing => "nothing",
        SyntaxKind.String => "a string",
        _ => $"'{Text}'",
    };

    /// <inheritdoc />
    public override string ToString() => $"{Kind} {Text} {Span}";
}
