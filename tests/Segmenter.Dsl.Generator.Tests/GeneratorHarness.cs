using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Segmenter.Dsl.Generator.Tests;

/// <summary>Runs the generator in-process over in-memory spec files, as the compiler does in a build.</summary>
internal static class GeneratorHarness
{
    public const string ProjectDirectory = "/project";

    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> specs, string? rootNamespace = "Zoo") =>
        CSharpGeneratorDriver.Create(
            new[] { new SegmenterGenerator().AsSourceGenerator() },
            specs,
            parseOptions: new CSharpParseOptions(LanguageVersion.Latest),
            optionsProvider: new OptionsProvider(new Dictionary<string, string>
            {
                ["build_property.RootNamespace"] = rootNamespace ?? "",
                ["build_property.MSBuildProjectDirectory"] = ProjectDirectory,
            }),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>A project's compilation with one placeholder class; by default it references Segmenter.Export, as the zoo's project does.</summary>
    public static CSharpCompilation EmptyCompilation(bool onnxExport = true) =>
        CSharpCompilation.Create("Tests", new[] { CSharpSyntaxTree.ParseText("class Placeholder { }") },
            onnxExport ? new[] { SegmenterExport.Value } : Array.Empty<MetadataReference>());

    /// <summary>A stand-in for the Segmenter.Export assembly: only its name matters to the generator.</summary>
    private static readonly Lazy<MetadataReference> SegmenterExport = new(() =>
    {
        var compilation = CSharpCompilation.Create(SegmenterGenerator.OnnxExportAssemblyName,
            new[] { CSharpSyntaxTree.ParseText("namespace Segmenter.Export { public interface IOnnxExportable { } }") },
            new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) },
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success) throw new InvalidOperationException(string.Join("\n", emitted.Diagnostics));
        return MetadataReference.CreateFromImage(image.ToArray());
    });

    public static InMemorySpec Spec(string relativePath, string text) => new(ProjectDirectory + "/" + relativePath, text);

    public static IReadOnlyList<InMemorySpec> ZooSpecs() =>
        Directory.GetFiles(RepositoryPaths.Specs, "*.seg")
            .OrderBy(f => f, System.StringComparer.Ordinal)
            .Select(f => Spec("specs/" + Path.GetFileName(f), File.ReadAllText(f)))
            .ToList();

    public sealed class InMemorySpec : AdditionalText
    {
        private readonly SourceText text;

        public InMemorySpec(string path, string text)
        {
            Path = path;
            this.text = SourceText.From(text);
        }

        public override string Path { get; }

        public override SourceText GetText(CancellationToken cancellationToken = default) => text;
    }

    private sealed class OptionsProvider : AnalyzerConfigOptionsProvider
    {
        private readonly Options global;

        public OptionsProvider(Dictionary<string, string> values) => global = new Options(values);

        public override AnalyzerConfigOptions GlobalOptions => global;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

        private sealed class Options : AnalyzerConfigOptions
        {
            public static readonly Options Empty = new(new Dictionary<string, string>());
            private readonly Dictionary<string, string> values;

            public Options(Dictionary<string, string> values) => this.values = values;

            public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
        }
    }
}
