using System.Collections.Generic;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

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
