using System.Collections.Generic;
using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl;

/// <summary>A declaration as the compilation remembers it: where it is and which declarations it uses directly.</summary>
internal sealed class DeclarationNode
{
    public DeclarationNode(DeclarationKind kind, string name, string path, TextSpan span, bool isLibrary)
    {
        Kind = kind;
        Name = name;
        Path = path;
        Span = span;
        IsLibrary = isLibrary;
    }

    /// <summary>Model or backbone.</summary>
    public DeclarationKind Kind { get; }

    /// <summary>Its name ("" when the parser found none).</summary>
    public string Name { get; }

    /// <summary>The path of the file that declares it.</summary>
    public string Path { get; }

    /// <summary>The declaration's span, from its keyword to its closing brace.</summary>
    public TextSpan Span { get; }

    /// <summary>True for a declaration of the built-in library.</summary>
    public bool IsLibrary { get; }

    /// <summary>Its base and, for a model, the backbone it names.</summary>
    public List<DeclarationNode> DependsOn { get; } = new();

    /// <summary>True if <paramref name="diagnostic"/> lies within this declaration (its end included, as syntax errors are assigned).</summary>
    public bool Contains(Diagnostics.SpecDiagnostic diagnostic) =>
        diagnostic.Path == Path && diagnostic.Span.Start >= Span.Start && diagnostic.Span.Start <= Span.End;
}
