using System.Collections.Generic;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

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
