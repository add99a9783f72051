using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Dsl.Diagnostics;
using Xunit;

namespace Segmenter.Dsl.Tests;

/// <summary>
/// Every diagnostic, provoked by a spec whose expected span is marked [|…|]: the diagnostic must be
/// reported with that ID at exactly that span, and no model may be produced for the broken declaration.
/// </summary>
public sealed class DiagnosticTests
{
    private const string Tiny = "backbone Tiny { layers = 2 width = 192 heads = 3 }\n";
    private const string Good = "backbone = Tiny patch = 16 image = 64 classes = 5";

    public static IEnumerable<object[]> Cases() => new (string Id, string Spec)[]
    {
        ("SEGDSL0001", Tiny + "model M { " + Good + " [|$|] }"),
        ("SEGDSL0002", Tiny + "model M { " + Good + " }\nmodel N : M { classes = (\"a\", [|\"b }|]\n}"),
        ("SEGDSL0003", Tiny + "model M { " + Good + " }\n[|/*|] never closed"),
        ("SEGDSL0004", Tiny + "model M { backbone = Tiny patch = [|16px|] image = 64 classes = 5 }"),
        ("SEGDSL0005", Tiny + "model M { backbone = Tiny patch [|16|] image = 64 classes = 5 }"),
        ("SEGDSL0006", Tiny + "[|modle|] M { " + Good + " }"),
        ("SEGDSL0007", Tiny + "model M { backbone = Tiny patch = [|}|]"),
        ("SEGDSL0008", Tiny + "model M { " + Good + " normalize = custom(mean = " + new string('(', 31) + "[|(|]" + new string(')', 33) + ") }"),
        ("SEGDSL0009", Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = (\"caf[|\uFFFD|]\", \"b\") }"),
        ("SEGDSL0010", Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = (\"a[|\u001b|][31m\", \"b\") }"),
        ("SEGDSL0011", Tiny + "/// Seg-T, [|\u202e|]a reversed line\nmodel M { " + Good + " }"),
        ("SEGDSL0101", Tiny + "model M { " + Good + " [|pach|] = 16 }"),
        ("SEGDSL0102", Tiny + "model M { " + Good + " [|patch|] = 8 }"),
        ("SEGDSL0103", Tiny + "model M { backbone = Tiny patch = [|\"16\"|] image = 64 classes = 5 }"),
        ("SEGDSL0104", Tiny + "model M { backbone = Tiny patch = [|0|] image = 64 classes = 5 }"),
        ("SEGDSL0105", Tiny + "model M { backbone = [|Tiyn|] patch = 16 image = 64 classes = 5 }"),
        ("SEGDSL0106", Tiny + "model M : [|Nope|] { " + Good + " }"),
        ("SEGDSL0107", Tiny + "model M { " + Good + " decoder = [|conv|] }"),
        ("SEGDSL0108", Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = [|ade21k|] }"),
        ("SEGDSL0109", Tiny + "model M { " + Good + " pos_embed_resize = [|nearest|] }"),
        ("SEGDSL0110", Tiny + "model A : [|B|] { " + Good + " }\nmodel B : A { }"),
        ("SEGDSL0111", Tiny + "model M { " + Good + " }\nmodel [|M|] { " + Good + " }"),
        ("SEGDSL0112", Tiny + "model [|Seg-T16|] { " + Good + " }"),
        ("SEGDSL0113", Tiny + "model [|M|] { backbone = Tiny image = 64 classes = 5 }"),
        ("SEGDSL0114", Tiny + "model M { " + Good + " decoder = mask([|layer|] = 2) }"),
        ("SEGDSL0115", Tiny + "model M { " + Good + " decoder = mask(layers = 2, [|layers|] = 3) }"),
        ("SEGDSL0116", Tiny + "model M : [|Tiny|] { " + Good + " }"),
        ("SEGDSL0117", Tiny + "model M { " + Good + " decoder = mask([|2|]) }"),
        ("SEGDSL0201", "backbone Odd { layers = 1 width = 10 heads = [|3|] }\nmodel M { backbone = Odd patch = 16 image = 64 classes = 5 }"),
        ("SEGDSL0202", Tiny + "model M { " + Good + " decoder = mask(heads = [|5|]) }"),
        ("SEGDSL0203", Tiny + "model M { backbone = Tiny patch = 16 image = [|500|] classes = 5 }"),
        ("SEGDSL0204", "backbone Narrow { layers = 1 width = 32 heads = 2 }\nmodel M { backbone = Narrow patch = 16 image = 64 classes = 5 decoder = [|mask|] }"),
        ("SEGDSL0205", "backbone B { layers = 1 width = 10 heads = 2 mlp_ratio = [|0.25|] }"),
        ("SEGDSL0206", Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = (\"a\", [|\"a\"|]) }"),
    }.Select(c => new object[] { c.Id, c.Spec });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reports_the_diagnostic_at_the_marked_span(string id, string annotated)
    {
        var spec = AnnotatedSpec.Parse(annotated);
        var expected = Assert.Single(spec.Spans);
        var result = SpecCompiler.Compile(spec.Text, "test.seg");

        Assert.Contains(result.Diagnostics, d => d.Id == id && d.Span == expected);
        var diagnostic = result.Diagnostics.First(d => d.Id == id && d.Span == expected);
        Assert.Equal("test.seg", diagnostic.Path);
        Assert.False(string.IsNullOrWhiteSpace(diagnostic.Message));
        Assert.DoesNotContain("{", diagnostic.Message.Replace("{ ", "").Replace("{{", ""));
        Assert.True(result.HasErrors);
    }

    [Fact]
    public void Every_descriptor_has_a_case_and_a_documented_entry()
    {
        var tested = Cases().Select(c => (string)c[0]).ToHashSet();
        var documentation = File.ReadAllText(Path.Combine(RepositoryPaths.Docs, "diagnostics.md"));
        foreach (var descriptor in DiagnosticDescriptors.All)
        {
            Assert.Contains(descriptor.Id, tested);
            Assert.Contains("## " + descriptor.Id, documentation);
        }
        Assert.Equal(DiagnosticDescriptors.All.Count, DiagnosticDescriptors.All.Select(d => d.Id).Distinct().Count());
    }

    [Fact]
    public void Names_that_would_collide_in_generated_files_or_code_are_refused()
    {
        // Files are named after models: Foo.g.cs and foo.g.cs are one hint name to the build and one file on many disks.
        var result = SpecCompiler.Compile(Tiny + "model Foo { " + Good + " }\nmodel foo : Foo { }\nmodel segmentermodels : Foo { }\nmodel Tensor : Foo { }\nmodel Ok : Foo { }\n");
        Assert.Equal(new[] { "Foo", "Ok" }, result.Models.Select(m => m.Spec.Name));
        Assert.Equal(new[] { "'foo'", "'segmentermodels'", "'Tensor'" }, result.Diagnostics.Select(d => d.Id + " " + d.Message.Split(' ')[0]).Select(t => t.Replace("SEGDSL0112 ", "")));
        Assert.Contains("only in case", result.Diagnostics[0].Message);
        Assert.Contains("SegmenterModels.g.cs", result.Diagnostics[1].Message);
        Assert.Contains("TorchSharp or runtime name", result.Diagnostics[2].Message);
        // A formatting character is no part of a name (C# would ignore it: two models, one class), nor of --name in import.
        Assert.Empty(SpecCompiler.Compile(Tiny + "model Fo\u00ADo { " + Good + " }").Models);
        Assert.NotNull(Binding.CSharpNames.Problem("Fo\u00ADo"));
    }

    [Fact]
    public void Sizes_and_values_the_models_cannot_hold_are_refused_where_they_are_written()
    {
        var grid = SpecCompiler.Compile(Tiny + "model M { backbone = Tiny patch = 1 image = 46341 classes = 5 }");
        var error = Assert.Single(grid.Diagnostics);
        Assert.Equal("SEGDSL0104", error.Id);
        Assert.Contains("at most 16,777,216 patches", error.Message);
        Assert.Contains("46341 × 46341 = 2,147,488,281 patches", error.Message);

        var names = string.Join(", ", Enumerable.Range(0, 65536).Select(i => $"\"c{i}\""));
        var classes = SpecCompiler.Compile(Tiny + $"model M {{ backbone = Tiny patch = 16 image = 64 classes = ({names}) }}");
        Assert.Contains("a tuple of 65536 names", Assert.Single(classes.Diagnostics).Message);

        var numbers = SpecCompiler.Compile(Tiny + "model M { " + Good + " normalize = custom(mean = (1e308, 0, 0), std = (1e-320, 1, 1)) layer_norm_eps = 1e-46 }");
        Assert.Equal(new[] { "mean", "std", "layer_norm_eps" }, numbers.Diagnostics.Select(d => d.Message.Split('\'')[1]));
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_reported_once_per_run_wherever_they_are()
    {
        var result = SpecCompiler.Compile("// \uFFFD\uFFFD in a comment\n" + Tiny + "/* \uFFFD */ model M { " + Good + " } \uFFFD");
        Assert.Equal(3, result.Diagnostics.Count(d => d.Id == "SEGDSL0009"));
        Assert.Equal(2, result.Diagnostics.First().Span.Length);
    }

    [Fact]
    public void A_long_unknown_name_among_many_gets_no_suggestion_and_costs_little()
    {
        var backbones = string.Concat(Enumerable.Range(0, 2000).Select(i => $"backbone Backbone{i} {{ layers = 1 width = 8 heads = 1 }}\n"));
        var result = SpecCompiler.Compile(backbones + $"model M {{ backbone = {new string('x', 40_000)} patch = 8 image = 8 classes = 2 }}");
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal("SEGDSL0105", error.Id);
        Assert.DoesNotContain("did you mean", error.Message);
        Assert.Contains("xxxx… (40,000 characters)", error.Message);   // quoted by its start, not whole
        Assert.True(error.Message.Length < 1000, error.Message.Length.ToString());
    }

    [Theory]
    [InlineData("model M { backbone = Tiny patch = 16 image = 64x64x64 classes = 5 }", "SEGDSL0004", "64x64x64")]
    [InlineData("model M { backbone = Tiny patch = 16 image = 1_000 classes = 5 }", "SEGDSL0004", "1_000")]
    [InlineData("model M { backbone = Tiny patch = 16 image = 99999999999999999999x64 classes = 5 }", "SEGDSL0004", "99999999999999999999x64")]
    [InlineData("model M { backbone = Tiny patch = 16 $ image = 64 classes = 5 }", "SEGDSL0001", "$")]
    [InlineData("model Seg.T16 { backbone = Tiny patch = 16 image = 64 classes = 5 }", "SEGDSL0001", ".")]
    [InlineData("model N linear { backbone = Tiny patch = 16 image = 64 classes = 5 }", "SEGDSL0005", "linear")]
    public void One_typo_is_one_error_and_the_next_model_still_compiles(string broken, string id, string at)
    {
        var source = Tiny + broken + "\nmodel Next { " + Good + " }\n";
        var result = SpecCompiler.Compile(source);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((id, at), (error.Id, source.Substring(error.Span.Start, error.Span.Length)));
        Assert.Contains("Next", result.Models.Select(m => m.Spec.Name));
    }

    [Fact]
    public void A_broken_model_emits_nothing_while_its_neighbours_still_compile()
    {
        var result = SpecCompiler.Compile(Tiny + "model Good { " + Good + " }\nmodel Bad { backbone = Tiny patch = 16 image = 500 classes = 5 }\n");
        Assert.Equal(new[] { "Good" }, result.Models.Select(m => m.Spec.Name));
        Assert.Single(result.Diagnostics);
    }

    [Fact]
    public void A_run_of_characters_that_start_nothing_is_one_error_and_the_spec_after_it_still_compiles()
    {
        const string blob = "\u0001\u00a7\ud83d\ude00@$\u00b6";
        var result = SpecCompiler.Compile(blob + "\n" + Tiny + "model Good { " + Good + " }\n");
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal(("SEGDSL0001", 0, blob.Length), (error.Id, error.Span.Start, error.Span.Length));
        Assert.Equal(new[] { "Good" }, result.Models.Select(m => m.Spec.Name));
        // Characters that can start a token end the run: here a name, then a bad character again.
        var split = SpecCompiler.Compile("@@x@@" + "\n" + Tiny + "model Good { " + Good + " }\n");
        Assert.Equal(new[] { (0, 2), (3, 2) }, split.Diagnostics.Where(d => d.Id == "SEGDSL0001").Select(d => (d.Span.Start, d.Span.Length)));
    }

    [Fact]
    public void A_model_inheriting_from_a_broken_model_is_not_built_and_the_error_is_reported_once()
    {
        var result = SpecCompiler.Compile(Tiny + "model Base { backbone = Tiny patch = 16 image = 500 classes = 5 }\nmodel Derived : Base { classes = 7 }\n");
        Assert.Empty(result.Models);
        Assert.Single(result.Diagnostics, d => d.Id == "SEGDSL0203");
    }

    [Fact]
    public void All_problems_of_a_model_are_reported_at_once()
    {
        var result = SpecCompiler.Compile(new[] { Text.SourceText.From("model Bad : SegT16 {\n  patch = 20\n  pach = 3\n  decoder = mask(heads = 5)\n}\n", "bad.seg") }, ZooLibrary.Texts);
        Assert.Equal(new[] { "SEGDSL0203", "SEGDSL0101", "SEGDSL0202" }, result.Diagnostics.Select(d => d.Id));
        Assert.Empty(result.Models);
    }

    [Fact]
    public void A_missing_base_does_not_also_report_the_properties_it_would_have_provided()
    {
        var result = SpecCompiler.Compile(Tiny + "model M : Nope { classes = 3 }");
        Assert.Equal("SEGDSL0106", Assert.Single(result.Diagnostics).Id);
    }

    [Fact]
    public void A_rule_broken_by_a_derived_model_is_reported_at_its_own_value()
    {
        var spec = AnnotatedSpec.Parse(Tiny + "model Base { " + Good + " }\nmodel Derived : Base { patch = [|7|] }\nmodel Elsewhere : Derived { classes = 9 }");
        var result = SpecCompiler.Compile(spec.Text);
        // Derived sets the patch: the error is there. Elsewhere sets neither and inherits the problem: not reported twice, not built.
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(("SEGDSL0203", spec.Spans.Single()), (diagnostic.Id, diagnostic.Span));
        Assert.Equal(new[] { "Base" }, result.Models.Select(m => m.Spec.Name));
    }

    [Fact]
    public void Duplicate_names_are_found_across_files()
    {
        var a = Text.SourceText.From(Tiny + "model M { " + Good + " }", "a.seg");
        var b = Text.SourceText.From("model M { " + Good + " }", "b.seg");
        var result = SpecCompiler.Compile(new[] { a, b });
        // Reported in each file, each pointing at the other: neither is built, and each file's diagnostics say why.
        Assert.Equal(new[] { ("SEGDSL0111", "a.seg"), ("SEGDSL0111", "b.seg") }, result.Diagnostics.Select(d => (d.Id, d.Path)));
        Assert.Contains("b.seg(1,7)", result.Diagnostics[0].Message);
        Assert.Contains("a.seg(2,7)", result.Diagnostics[1].Message);
        Assert.Empty(result.Models);
        Assert.Equal("SEGDSL0111", Assert.Single(result.DiagnosticsFor("a.seg")).Id);
        Assert.Equal(2, result.DiagnosticsForModel("M").Count);
    }

    [Fact]
    public void Messages_suggest_the_closest_name()
    {
        var result = SpecCompiler.Compile(Tiny + "model M { " + Good + " drop_pth = 0.1 }");
        Assert.Contains("did you mean 'drop_path'?", Assert.Single(result.Diagnostics).Message);
    }

    [Fact]
    public void Diagnostic_text_has_the_compiler_form()
    {
        var result = SpecCompiler.Compile(Tiny + "model M {\n  " + Good + "\n  pach = 16\n}", "specs/x.seg");
        Assert.Equal("specs/x.seg(4,3): error SEGDSL0101: 'pach' is not a property of a model (did you mean 'patch'?); known properties: backbone, patch, image, classes, decoder, drop_path, dropout, normalize, layer_norm_eps, pos_embed_resize",
            Assert.Single(result.Diagnostics).ToString());
    }
}
