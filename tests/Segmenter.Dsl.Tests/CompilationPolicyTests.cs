using System.Linq;
using Segmenter.Dsl.Text;
using Xunit;

namespace Segmenter.Dsl.Tests;

/// <summary>
/// One rule for every tool: a model is usable when it and everything it inherits from are free of errors;
/// errors in unrelated files are reported in those files and never fail another model or get blamed on it.
/// </summary>
public sealed class CompilationPolicyTests
{
    private const string Tiny = "backbone Tiny { layers = 2 width = 192 heads = 3 }\n";
    private const string Good = "backbone = Tiny patch = 16 image = 64 classes = 5";

    [Fact]
    public void A_broken_file_beside_a_valid_one_does_not_stop_the_valid_files_models()
    {
        var tiny = SourceText.From(Tiny + "model TinyModel { " + Good + " }\n", "specs/tiny.seg");
        var scratch = SourceText.From("model Scratch { backbone = Tiny patch = 16 image = 60 classes = 5 }\nmodel Half { patch = \n", "specs/scratch.seg");
        var result = SpecCompiler.Compile(new[] { tiny, scratch });

        Assert.Equal(new[] { "TinyModel" }, result.DeclaredModels("specs/tiny.seg"));
        Assert.Equal(new[] { "Scratch", "Half" }, result.DeclaredModels("specs/scratch.seg"));
        Assert.NotNull(result.Find("TinyModel"));
        Assert.Empty(result.DiagnosticsFor("specs/tiny.seg"));
        Assert.Empty(result.DiagnosticsForModel("TinyModel"));

        var scratchDiagnostics = result.DiagnosticsFor("specs/scratch.seg");
        Assert.Contains(scratchDiagnostics, d => d.Id == "SEGDSL0203");
        Assert.All(scratchDiagnostics, d => Assert.Equal("specs/scratch.seg", d.Path));
        Assert.Equal("SEGDSL0203", Assert.Single(result.DiagnosticsForModel("Scratch")).Id);
    }

    [Fact]
    public void A_model_inheriting_from_a_broken_model_in_another_file_is_unusable_and_told_why()
    {
        var broken = SourceText.From(Tiny + "model Broken { backbone = Tiny patch = 16 image = 60 classes = 5 }\nmodel Fine { " + Good + " }\n", "base.seg");
        var derived = SourceText.From("model Derived : Broken { classes = 7 }\n", "derived.seg");
        var unrelated = SourceText.From("model Unrelated { " + Good + " pach = 3 }\n", "unrelated.seg");
        var result = SpecCompiler.Compile(new[] { broken, derived, unrelated });

        Assert.Null(result.Find("Derived"));
        var forDerived = result.DiagnosticsFor("derived.seg");
        var error = Assert.Single(forDerived);
        Assert.Equal(("SEGDSL0203", "base.seg"), (error.Id, error.Path));
        Assert.Equal(forDerived, result.DiagnosticsForModel("Derived"));
        Assert.NotNull(result.Find("Fine"));
        Assert.Empty(result.DiagnosticsForModel("Fine"));
    }

    [Fact]
    public void A_backbone_in_another_file_counts_as_a_dependency_and_its_bases_too()
    {
        var backbones = SourceText.From("backbone Root { layers = 2 width = 10 heads = 3 }\nbackbone Leaf : Root { layers = 4 }\nbackbone Other { layers = 1 width = 64 heads = 7 }\n", "backbones.seg");
        var model = SourceText.From("model M { backbone = Leaf patch = 16 image = 64 classes = 5 }\n", "model.seg");
        var result = SpecCompiler.Compile(new[] { backbones, model });

        Assert.Null(result.Find("M"));
        // Root's heads do not divide its width; Other's problem is unrelated to M.
        var error = Assert.Single(result.DiagnosticsFor("model.seg"));
        Assert.Equal(("SEGDSL0201", "backbones.seg", 0), (error.Id, error.Path, error.LineSpan.Start.Line));
        Assert.Equal(new[] { error }, result.DiagnosticsForModel("M"));
    }

    [Fact]
    public void Diagnostics_outside_any_declaration_belong_to_their_file()
    {
        var result = SpecCompiler.Compile(new[] { SourceText.From(Tiny + "model M { " + Good + " }\n/* never closed", "a.seg"), SourceText.From("model N { " + Good + " }", "b.seg") });
        Assert.Equal("SEGDSL0003", Assert.Single(result.DiagnosticsFor("a.seg")).Id);
        Assert.Empty(result.DiagnosticsFor("b.seg"));
        Assert.NotNull(result.Find("N"));
    }

    [Fact]
    public void A_twenty_thousand_link_chain_compiles()
    {
        // Bases are resolved, cycle-checked and merged once per declaration (linear), so a long chain is no problem.
        const int Links = 20_000;
        var text = new System.Text.StringBuilder(Tiny + "model M0 { " + Good + " }\n");
        for (int i = 1; i < Links; i++) text.Append("model M").Append(i).Append(" : M").Append(i - 1).Append(" { }\n");
        var result = SpecCompiler.Compile(text.ToString());
        Assert.Empty(result.Diagnostics);
        Assert.Equal(Links, result.Models.Count);
        Assert.Equal(5, result.Models.Last().Spec.NumClasses);
        Assert.Contains("classes = 5  (from M0)", result.Models.Last().Resolution);
    }

    [Fact]
    public void A_long_cycle_is_reported_at_each_member_and_those_leading_into_it_fail_silently()
    {
        var result = SpecCompiler.Compile(Tiny + "model A : C { }\nmodel B : A { }\nmodel C : B { }\nmodel D : C { " + Good + " }\n");
        Assert.Equal(3, result.Diagnostics.Count(d => d.Id == "SEGDSL0110"));
        Assert.Contains(result.Diagnostics, d => d.Message.Contains("A : C : B : A"));
        Assert.Empty(result.Models);
        Assert.Equal(3, result.DiagnosticsForModel("D").Count);
    }
}
