namespace Segmenter.Dsl.Syntax;

/// <summary>The kinds of tokens. Keywords are contextual ('model', 'backbone' are also property names), so they lex as identifiers.</summary>
public enum SyntaxKind
{
    /// <summary>A character no token starts with.</summary>
    BadToken,
    /// <summary>The end of the file.</summary>
    EndOfFile,
    /// <summary>A name: letters, digits, '_' and inner '-' (e.g. pascal-context).</summary>
    Identifier,
    /// <summary>An integer or decimal number, possibly negative or with an exponent.</summary>
    Number,
    /// <summary>A size such as 512x640.</summary>
    Size,
    /// <summary>A double-quoted string.</summary>
    String,
    /// <summary>'{'</summary>
    OpenBrace,
    /// <summary>'}'</summary>
    CloseBrace,
    /// <summary>'('</summary>
    OpenParen,
    /// <summary>')'</summary>
    CloseParen,
    /// <summary>'='</summary>
    Equals,
    /// <summary>','</summary>
    Comma,
    /// <summary>':'</summary>
    Colon,
    /// <summary>';'</summary>
    Semicolon,
}
