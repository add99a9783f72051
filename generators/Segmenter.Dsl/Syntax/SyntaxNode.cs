using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>A node of the syntax tree. Nodes are immutable and know their span.</summary>
public abstract class SyntaxNode
{
    /// <summary>The characters the node covers.</summary>
    public abstract TextSpan Span { get; }
}
