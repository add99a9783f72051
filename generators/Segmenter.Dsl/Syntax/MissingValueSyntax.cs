using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>Where a value was required but none was written (the parser has reported it).</summary>
public sealed class MissingValueSyntax : ValueSyntax
{
    internal MissingValueSyntax(TextSpan span) => Span = span;

    /// <inheritdoc />
    public override TextSpan Span { get; }

    /// <inheritdoc />
    public override string Describe() => "nothing";
}
