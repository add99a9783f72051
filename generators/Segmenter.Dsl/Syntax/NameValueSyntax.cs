using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

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
