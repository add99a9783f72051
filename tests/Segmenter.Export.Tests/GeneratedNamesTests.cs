using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Segmenter.Dsl;
using Segmenter.Dsl.Binding;
using Segmenter.Tooling;
using Xunit;

namespace Segmenter.Export.Tests;

/// <summary>
/// A model's name becomes a class beside every other model's, in code that names TorchSharp's types, the runtime and its
/// own members without qualification: a name the spec compiler accepts must compile wherever the generated code puts it.
/// </summary>
public sealed class GeneratedNamesTests
{
    [Fact]
    public void Every_identifier_of_the_generated_code_is_refused_as_a_model_name_or_compiles_as_one()
    {
        // Every identifier in the C# of a linear, a mask and a distilled model (and the catalog) that the compiler takes as a model name...
        var zoo = new[] { "SegT16", "SegTMask16", "SegBDeiTMask16" }.Select(ModelResolver.ResolveCompiled).ToList();
        var names = DynamicModels.Emit(zoo)
            .SelectMany(s => CSharpSyntaxTree.ParseText(s.Source).GetRoot().DescendantTokens())
            .Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText)
            .Distinct(StringComparer.Ordinal).Where(n => CSharpNames.Problem(n) is null && zoo.All(m => m.Spec.Name != n))
            .OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.True(names.Count > 20, string.Join(", ", names));   // the locals, parameters and named arguments, at least

        // ...names a model of each kind, all in one project (names that differ only in case, which one project cannot
        // hold, in projects of their own).
        var groups = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();
        for (int batch = 0; batch < groups.Max(g => g.Count()); batch++)
        {
            var project = groups.Where(g => g.Count() > batch).Select(g => g.ElementAt(batch)).ToList();
            var decoders = new[] { "linear", "mask(layers = 1, heads = 1)" };
            var spec = "backbone B { layers = 1 width = 16 heads = 1 }\nbackbone D : B { distilled = true }\n" + string.Join("\n", project.Select((n, i) =>
                $"model {n} {{ backbone = {(i % 3 == 2 ? "D" : "B")} patch = 8 image = 16 classes = 2 decoder = {decoders[i % 2]} }}"));
            var compilation = SpecCompiler.Compile(spec, "names.seg");
            Assert.Empty(compilation.Diagnostics);
            var (image, diagnostics) = DynamicModels.CompileToImage(compilation.Models, "GeneratedNames" + batch);
            var problems = diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
            Assert.True(image is not null && problems.Count == 0, string.Join("\n", problems.Take(30)));
        }
    }
}
