using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Segmenter.Dsl.Generator.Tests;

public sealed class GeneratorTests
{
    private static GeneratorDriverRunResult Run(IEnumerable<AdditionalText> specs, out GeneratorDriver driver)
    {
        driver = GeneratorHarness.CreateDriver(specs).RunGenerators(GeneratorHarness.EmptyCompilation());
        return driver.GetRunResult();
    }

    public static IEnumerable<object[]> ZooOutputs()
    {
        var result = Run(GeneratorHarness.ZooSpecs(), out _);
        return result.Results.Single().GeneratedSources.Select(s => new object[] { s.HintName });
    }

    [Theory]
    [MemberData(nameof(ZooOutputs))]
    public void Generated_source_matches_its_approved_snapshot(string hintName)
    {
        var result = Run(GeneratorHarness.ZooSpecs(), out _);
        var source = result.Results.Single().GeneratedSources.Single(s => s.HintName == hintName);
        Snapshot.Match(hintName.Replace(".g.cs", ".verified.cs"), source.SourceText.ToString());
    }

    [Fact]
    public void Every_zoo_model_and_the_catalog_are_generated_without_diagnostics()
    {
        var result = Run(GeneratorHarness.ZooSpecs(), out _);
        Assert.Empty(result.Diagnostics);
        var names = result.Results.Single().GeneratedSources.Select(s => s.HintName).ToList();
        Assert.Contains("SegmenterModels.g.cs", names);
        Assert.Equal(14, names.Count(n => n.EndsWith(".Onnx.g.cs", StringComparison.Ordinal)));
        Assert.Equal(29, names.Count);
        Assert.Equal(names.Count, Snapshot.ApprovedFiles().Count());
    }

    [Fact]
    public void Spec_errors_are_reported_at_the_spec_file_line_and_column()
    {
        var spec = GeneratorHarness.Spec("specs/broken.seg",
            "backbone T { layers = 1 width = 64 heads = 2 }\nmodel Ok { backbone = T patch = 16 image = 64 classes = 3 }\nmodel Bad {\n  backbone = T patch = 16\n  image = 60 classes = 3\n}\n");
        var result = Run(new[] { spec }, out _);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("SEGDSL0203", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var position = diagnostic.Location.GetLineSpan();
        Assert.Equal("/project/specs/broken.seg", position.Path);
        Assert.Equal((4, 10), (position.StartLinePosition.Line, position.StartLinePosition.Character));
        Assert.StartsWith("/project/specs/broken.seg(5,11): error SEGDSL0203: Image size 60 is not a multiple of patch 16", diagnostic.ToString());
        Assert.Equal(new[] { "Ok.Onnx.g.cs", "Ok.g.cs", "SegmenterModels.g.cs" }, result.Results.Single().GeneratedSources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal));
    }

    [Fact]
    public void An_unrelated_csharp_edit_leaves_every_output_cached()
    {
        Run(GeneratorHarness.ZooSpecs(), out var driver);
        var edited = GeneratorHarness.EmptyCompilation().AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Other { int x; }"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        foreach (var step in new[] { SegmenterGenerator.Steps.Models, SegmenterGenerator.Steps.Catalog, SegmenterGenerator.Steps.Diagnostics })
            Assert.All(result.TrackedSteps[step].SelectMany(s => s.Outputs), output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void A_comment_only_spec_edit_leaves_the_models_unchanged()
    {
        var specs = GeneratorHarness.ZooSpecs();
        Run(specs, out var driver);
        var ade = specs.Single(s => s.Path.EndsWith("ade20k.seg"));
        var commented = GeneratorHarness.Spec("specs/ade20k.seg", "// A new comment line at the top.\n" + ade.GetText()!.ToString().Replace("classes   = ade20k", "classes   = ade20k   // 150 classes"));
        driver = driver.ReplaceAdditionalText(ade, commented);
        var result = driver.RunGenerators(GeneratorHarness.EmptyCompilation()).GetRunResult().Results.Single();

        // The file's text changed, the compiled models did not: the compilation step reports Unchanged,
        // so no model, catalog or diagnostics output runs again.
        Assert.Contains(result.TrackedSteps[SegmenterGenerator.Steps.SpecFiles].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.All(result.TrackedSteps[SegmenterGenerator.Steps.Compilation].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void A_width_change_modifies_only_that_models_output()
    {
        var specs = GeneratorHarness.ZooSpecs();
        Run(specs, out var driver);
        var ade = specs.Single(s => s.Path.EndsWith("ade20k.seg"));
        var text = ade.GetText()!.ToString();
        var edited = text.Replace("model SegB32 : SegB16 { patch = 32 }", "model SegB32 : SegB16 { patch = 32 backbone = Base(width = 1536, heads = 24) }");
        Assert.NotEqual(text, edited);
        driver = driver.ReplaceAdditionalText(ade, GeneratorHarness.Spec("specs/ade20k.seg", edited));
        var result = driver.RunGenerators(GeneratorHarness.EmptyCompilation()).GetRunResult().Results.Single();

        var models = result.TrackedSteps[SegmenterGenerator.Steps.Models].SelectMany(s => s.Outputs).ToList();
        var modified = models.Where(o => o.Reason == IncrementalStepRunReason.Modified).Select(o => ((ModelToEmit)o.Value).Model.Spec.Name).ToList();
        Assert.Equal(new[] { "SegB32" }, modified);
        Assert.All(models.Where(o => o.Reason != IncrementalStepRunReason.Modified), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.All(result.TrackedSteps[SegmenterGenerator.Steps.Catalog].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
    }

    [Fact]
    public void The_onnx_part_is_generated_only_when_the_project_references_Segmenter_Export()
    {
        var spec = GeneratorHarness.Spec("m.seg", "backbone T { layers = 1 width = 64 heads = 1 }\nmodel M { backbone = T patch = 8 image = 32 classes = 2 }");
        string[] HintNames(bool onnxExport) => GeneratorHarness.CreateDriver(new[] { spec }).RunGenerators(GeneratorHarness.EmptyCompilation(onnxExport))
            .GetRunResult().Results.Single().GeneratedSources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal).ToArray();

        Assert.Equal(new[] { "M.g.cs", "SegmenterModels.g.cs" }, HintNames(onnxExport: false));
        Assert.Equal(new[] { "M.Onnx.g.cs", "M.g.cs", "SegmenterModels.g.cs" }, HintNames(onnxExport: true));
    }

    [Fact]
    public void The_model_class_does_not_mention_Segmenter_Export_and_its_onnx_part_does()
    {
        var result = Run(GeneratorHarness.ZooSpecs(), out _).Results.Single();
        var model = result.GeneratedSources.Single(s => s.HintName == "SegT16.g.cs").SourceText.ToString();
        var onnx = result.GeneratedSources.Single(s => s.HintName == "SegT16.Onnx.g.cs").SourceText.ToString();
        Assert.DoesNotContain("Segmenter.Export", model);
        Assert.Contains("partial class SegT16 : global::Segmenter.Export.IOnnxExportable", onnx);
        Assert.Contains("void global::Segmenter.Export.IOnnxExportable.DefineOnnxGraph(global::Segmenter.Export.OnnxGraph graph)", onnx);
    }

    [Fact]
    public void Pipeline_values_hold_no_symbols_syntax_or_compilations()
    {
        var result = Run(GeneratorHarness.ZooSpecs(), out _).Results.Single();
        // The generator's own steps (Roslyn's input steps, such as its "Compilation", are not the generator's values).
        var ours = typeof(SegmenterGenerator.Steps).GetFields().Select(f => (string)f.GetValue(null)!).ToList();
        Assert.Contains(SegmenterGenerator.Steps.OnnxExport, result.TrackedSteps.Keys);
        foreach (var steps in result.TrackedSteps.Where(p => ours.Contains(p.Key)).Select(p => p.Value))
        {
            foreach (var output in steps.SelectMany(s => s.Outputs))
                AssertPlainData(output.Value, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
        }
    }

    [Fact]
    public void The_generators_library_is_the_zoo_in_specs()
    {
        var files = Directory.GetFiles(RepositoryPaths.Specs, "*.seg").OrderBy(f => f, StringComparer.Ordinal).ToList();
        var library = SegmenterGenerator.Library;
        Assert.Equal(files.Select(f => "zoo/" + Path.GetFileName(f)), library.Select(t => t.Path));
        Assert.Equal(files.Select(File.ReadAllText), library.Select(t => t.Text));
    }

    [Fact]
    public void The_namespace_follows_the_root_namespace()
    {
        var driver = GeneratorHarness.CreateDriver(new[] { GeneratorHarness.Spec("m.seg", "backbone T { layers = 1 width = 64 heads = 1 }\nmodel M { backbone = T patch = 8 image = 32 classes = 2 }") }, "My.App")
            .RunGenerators(GeneratorHarness.EmptyCompilation());
        var source = driver.GetRunResult().Results.Single().GeneratedSources.Single(s => s.HintName == "M.g.cs").SourceText.ToString();
        Assert.Contains("namespace My.App", source);
        Assert.Contains("Generated by Segmenter.Dsl from m.seg, model M.", source);
    }

    private static void AssertPlainData(object? value, HashSet<object> seen, int depth)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || depth > 12) return;
        Assert.False(value is ISymbol || value is SyntaxNode || value is Compilation || value is SemanticModel || value is Location,
            $"pipeline value holds a {value.GetType().Name}");
        if (!value.GetType().IsValueType && !seen.Add(value)) return;
        if (value is IEnumerable items)
        {
            foreach (var item in items) AssertPlainData(item, seen, depth + 1);
            return;
        }
        foreach (var field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            AssertPlainData(field.GetValue(value), seen, depth + 1);
    }
}
