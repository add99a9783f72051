using System.Linq;
using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;
using Xunit;

namespace Segmenter.Dsl.Tests;

public sealed class SyntaxTests
{
    private static SpecFileSyntax Parse(string text, int expectedErrors = 0)
    {
        var (syntax, diagnostics) = SpecCompiler.Parse(SourceText.From(text, "t.seg"));
        Assert.Equal(expectedErrors, diagnostics.Count);
        return syntax;
    }

    [Fact]
    public void Lexes_numbers_sizes_names_and_strings()
    {
        var file = Parse("model M { a = 12 b = 0.1 c = 1e-5 d = -3 e = 512x640 f = pascal-context g = \"x \\\" y\" }");
        var values = file.Declarations.Single().Properties.Select(p => p.Value).ToList();
        Assert.Equal(new NumberLiteral(12, true), ((NumberValueSyntax)values[0]).Literal);
        Assert.Equal(new NumberLiteral(0.1, false), ((NumberValueSyntax)values[1]).Literal);
        Assert.Equal(new NumberLiteral(1e-5, false), ((NumberValueSyntax)values[2]).Literal);
        Assert.Equal(new NumberLiteral(-3, true), ((NumberValueSyntax)values[3]).Literal);
        Assert.Equal(new SizeLiteral(512, 640), ((SizeValueSyntax)values[4]).Literal);
        Assert.Equal("pascal-context", ((NameValueSyntax)values[5]).Name.Text);
        Assert.Equal("x \" y", ((StringValueSyntax)values[6]).Value);
    }

    [Fact]
    public void Comments_are_trivia_and_doc_comments_attach_to_the_declaration()
    {
        var file = Parse("// a comment\n/* block\n comment */\n/// First line.\n/// Second line.\nmodel M { patch = /* inline */ 16 // trailing\n}");
        var declaration = file.Declarations.Single();
        Assert.Equal("First line.\nSecond line.", declaration.Keyword.Documentation);
        Assert.Equal(16, ((NumberValueSyntax)declaration.Properties.Single().Value).Literal.Value);
    }

    [Fact]
    public void Parses_inheritance_calls_tuples_and_optional_separators()
    {
        var file = Parse("model B : A { decoder = mask(layers = 2, dropout = 0.1), classes = (\"a\", \"b\"); backbone = Base(distilled = true) }");
        var declaration = file.Declarations.Single();
        Assert.Equal(DeclarationKind.Model, declaration.Kind);
        Assert.Equal("A", declaration.BaseName!.Text);
        var decoder = (NameValueSyntax)declaration.Properties[0].Value;
        Assert.Equal(new[] { "layers", "dropout" }, decoder.Arguments!.Arguments.Select(a => a.Name!.Text));
        var classes = (TupleValueSyntax)declaration.Properties[1].Value;
        Assert.Equal(2, classes.Elements.Count);
        Assert.Equal("Base(distilled = true)", SyntaxPrinter.Print(declaration.Properties[2].Value));
    }

    [Fact]
    public void Model_and_backbone_are_also_property_names()
    {
        var file = Parse("backbone T { layers = 1 width = 8 heads = 1 }\nmodel M { backbone = T }");
        Assert.Equal("backbone", file.Declarations[1].Properties.Single().Name.Text);
    }

    [Fact]
    public void Recovers_from_a_missing_brace_and_parses_the_next_declaration()
    {
        var file = Parse("model A { patch = 16\nmodel B { patch = 8 }", expectedErrors: 1);
        Assert.Equal(new[] { "A", "B" }, file.Declarations.Select(d => d.Name.Text));
        Assert.True(file.Declarations[0].CloseBrace.IsMissing);
    }

    [Fact]
    public void Recovers_from_a_missing_equals_sign_keeping_the_value()
    {
        var file = Parse("model A { patch 16 image = 64 }", expectedErrors: 1);
        var properties = file.Declarations.Single().Properties;
        Assert.Equal(new[] { "patch", "image" }, properties.Select(p => p.Name.Text));
        Assert.True(properties[0].EqualsToken.IsMissing);
        Assert.Equal(16, ((NumberValueSyntax)properties[0].Value).Literal.Value);
    }

    [Fact]
    public void A_missing_comma_in_a_tuple_is_one_error()
    {
        var file = Parse("model A { normalize = custom(mean = (0.5 0.5, 0.5), std = (1, 1, 1)) }", expectedErrors: 1);
        Assert.Single(file.Declarations);
    }

    [Fact]
    public void Line_positions_count_every_kind_of_line_break()
    {
        var text = SourceText.From("a\r\nb\nc\rd");
        Assert.Equal(4, text.LineCount);
        Assert.Equal(new LinePosition(3, 0), text.GetLinePosition(7));
        Assert.Equal(new LinePosition(1, 0), text.GetLinePosition(3));
        Assert.Equal("b", text.ToString(text.GetLineSpan(1)));
    }
}
