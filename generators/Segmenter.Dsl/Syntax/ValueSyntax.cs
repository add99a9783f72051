namespace Segmenter.Dsl.Syntax;

/// <summary>A value: number, size, string, name (or call), tuple, or a placeholder where one is missing.</summary>
public abstract class ValueSyntax : SyntaxNode
{
    /// <summary>How the value reads in a message ("the number 12", "the name linear", …).</summary>
    public abstract string Describe();
}
