namespace Segmenter.Dsl.Syntax;

/// <summary>The two kinds of declaration.</summary>
public enum DeclarationKind
{
    /// <summary><c>backbone Name { … }</c>: a ViT encoder shape.</summary>
    Backbone,
    /// <summary><c>model Name { … }</c>: a whole Segmenter variant.</summary>
    Model,
}
