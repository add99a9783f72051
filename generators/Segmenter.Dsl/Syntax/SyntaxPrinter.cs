using System.Linq;

namespace Segmenter.Dsl.Syntax;

/// <summary>Prints values in one canonical form (no comments, single spaces), e.g. <c>mask(layers = 2, dropout = 0.1)</c>.</summary>
public static class SyntaxPrinter
{
    /// <summary>The canonical text of <paramref name="value"/>.</summary>
    public static string Print(ValueSyntax value) => value switch
    {
        NumberValueSyntax number => number.Token.Text,
        SizeValueSyntax size => size.Token.Text,
        StringValueSyntax text => text.Token.Text,
        NameValueSyntax { Arguments: null } name => name.Name.Text,
        NameValueSyntax call => call.Name.Text + "(" + string.Join(", ", call.Arguments!.Arguments.Select(Print)) + ")",
        TupleValueSyntax tuple => "(" + string.Join(", ", tuple.Elements.Select(Print)) + ")",
        _ => "?",
    };

    private static string Print(ArgumentSyntax argument) =>
        argument.Name is null ? Print(argument.Value) : argument.Name.Text + " = " + Print(argument.Value);
}
