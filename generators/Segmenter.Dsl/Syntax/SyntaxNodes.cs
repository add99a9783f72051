using System.Collections.Generic;
using Segmenter.Dsl.Text;
using Segmenter.Spec;

namespace Segmenter.Dsl.Syntax;

/// <summary>A node of the syntax tree. Nodes are immutable and know their span.</summary>
public abstract class SyntaxNode
{
    /// <summary>The characters the node covers.</summary>
    public abstract TextSpan Span { get; }
}

/// <summary>A whole spec file: declarations, then the end of the file.</summary>
public sealed class SpecFileSyntax : SyntaxNode
{
    internal SpecFileSyntax(SourceText text, IReadOnlyList<DeclarationSyntax> declarations, SyntaxToken endOfFile)
    {
        Text = text;
        Declarations = declarations;
        EndOfFile = endOfFile;
    }

    /// <summary>The file's text.</summary>
    public SourceText Text { get; }

    /// <summary>The declarations, in file order.</summary>
    public IReadOnlyList<DeclarationSyntax> Declarations { get; }

    /// <summary>The end-of-file token.</summary>
    public SyntaxToken EndOfFile { get; }

    /// <inheritdoc />
    public override TextSpan Span => new(0, Text.Length);
}

/// <summary>The two kinds of declaration.</summary>
public enum DeclarationKind
{
    /// <summary><c>backbone Name { … }</c>: a ViT encoder shape.</summary>
    Backbone,
    /// <summary><c>model Name { … }</c>: a whole Segmenter variant.</summary>
    Model,
}

/// <summary><c>model Name : Base { properties }</c> or <c>backbone Name : Base { properties }</c>.</summary>
public sealed class DeclarationSyntax : SyntaxNode
{
    internal DeclarationSyntax(DeclarationKind kind, SyntaxToken keyword, SyntaxToken name, SyntaxToken? colon, SyntaxToken? baseName,
        SyntaxToken openBrace, IReadOnlyList<PropertySyntax> properties, SyntaxToken closeBrace)
    {
        Kind = kind;
        Keyword = keyword;
        Name = name;
        Colon = colon;
        BaseName = baseName;
        OpenBrace = openBrace;
        Properties = properties;
        CloseBrace = closeBrace;
    }

    /// <summary>Backbone or model.</summary>
    public DeclarationKind Kind { get; }

    /// <summary>The 'model' or 'backbone' keyword.</summary>
    public SyntaxToken Keyword { get; }

    /// <summary>The declared name.</summary>
    public SyntaxToken Name { get; }

    /// <summary>The ':' before a base name, if any.</summary>
    public SyntaxToken? Colon { get; }

    /// <summary>The name of the declaration inherited from, if any.</summary>
    public SyntaxToken? BaseName { get; }

    /// <summary>'{'</summary>
    public SyntaxToken OpenBrace { get; }

    /// <summary>The properties, in file order.</summary>
    public IReadOnlyList<PropertySyntax> Properties { get; }

    /// <summary>'}'</summary>
    public SyntaxToken CloseBrace { get; }

    /// <inheritdoc />
    public override TextSpan Span => TextSpan.FromBounds(Keyword.Span.Start, CloseBrace.IsMissing && Properties.Count > 0
        ? Properties[Properties.Count - 1].Span.End
        : CloseBrace.Span.End);
}

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

/// <summary>A value: number, size, string, name (or call), tuple, or a placeholder where one is missing.</summary>
public abstract class ValueSyntax : SyntaxNode
{
    /// <summary>How the value reads in a message ("the number 12", "the name linear", …).</summary>
    public abstract string Describe();
}

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

/// <summary>A name (<c>linear</c>, <c>Tiny</c>, <c>true</c>), optionally called with arguments: <c>mask(layers = 2)</c>.</summary>
public sealed class NameValueSyntax : ValueSyntax
{
    internal NameValueSyntax(SyntaxToken name, ArgumentListSyntax? arguments)
    {
        Name = name;
        Arguments = arguments;
    }

    /// <summary>The name.</summary>
    public SyntaxToken Name { get; }

    /// <summary>The arguments, if written.</summary>
    public ArgumentListSyntax? Arguments { get; }

    /// <inheritdoc />
    public override TextSpan Span => TextSpan.FromBounds(Name.Span.Start, Arguments?.Span.End ?? Name.Span.End);

    /// <inheritdoc />
    public override string Describe() => Arguments is null ? $"the name '{Name.Text}'" : $"the call '{Name.Text}(…)'";
}

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

/// <summary>Where a value was required but none was written (the parser has reported it).</summary>
public sealed class MissingValueSyntax : ValueSyntax
{
    internal MissingValueSyntax(TextSpan span) => Span = span;

    /// <inheritdoc />
    public override TextSpan Span { get; }

    /// <inheritdoc />
    public override string Describe() => "nothing";
}

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
