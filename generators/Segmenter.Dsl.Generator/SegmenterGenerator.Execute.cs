using System;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using SpecDiagnostic = Segmenter.Dsl.Diagnostics.SpecDiagnostic;
using SpecSeverity = Segmenter.Dsl.Diagnostics.SpecSeverity;
using Segmenter.Dsl.Emit;
using SpecSourceText = Segmenter.Dsl.Text.SourceText;
using Segmenter.Spec;

namespace Segmenter.Dsl.Generator;

public sealed partial class SegmenterGenerator
{
    private const string DefaultNamespace = "Segmenter.Models";

    private static readonly ConcurrentDictionary<string, DiagnosticDescriptor> RoslynDescriptors = new();

    private static GeneratorOptions ReadOptions(AnalyzerConfigOptions options)
    {
        string? Get(string name) => options.TryGetValue("build_property." + name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
        var ns = Get("SegmenterNamespace") ?? Get("RootNamespace") ?? DefaultNamespace;
        var baseDirectory = Get("SegmenterSpecBaseDirectory") ?? Get("MSBuildProjectDirectory") ?? Get("ProjectDir") ?? "";
        return new GeneratorOptions(ns, baseDirectory);
    }

    private static SpecFile ReadFile(AdditionalText text, GeneratorOptions options, CancellationToken cancellation)
    {
        var content = text.GetText(cancellation)?.ToString() ?? "";
        return new SpecFile(text.Path, DisplayPath(text.Path, options.BaseDirectory), content);
    }

    /// <summary><paramref name="path"/> relative to <paramref name="baseDirectory"/> with '/' separators, or its file name if it lies elsewhere.</summary>
    internal static string DisplayPath(string path, string baseDirectory)
    {
        var normalized = Normalize(path);
        var root = Normalize(baseDirectory).TrimEnd('/');
        if (root.Length > 0 && normalized.StartsWith(root + "/", StringComparison.Ordinal))
            return normalized.Substring(root.Length + 1);
        return Path.GetFileName(normalized);
    }

    /// <summary>'/' separators with "." and ".." segments resolved (pure string work: generators do no file IO).</summary>
    private static string Normalize(string path)
    {
        var segments = new System.Collections.Generic.List<string>();
        foreach (var segment in path.Replace('\\', '/').Split('/'))
        {
            if (segment == ".") continue;
            if (segment == ".." && segments.Count > 0 && segments[segments.Count - 1] != "..") segments.RemoveAt(segments.Count - 1);
            else segments.Add(segment);
        }
        return string.Join("/", segments);
    }

    private static CompilationOutput Compile(ImmutableArray<SpecFile> files, GeneratorOptions options)
    {
        var result = SpecCompiler.Compile(files.Select(f => SpecSourceText.From(f.Text, f.Path, f.DisplayPath)), Library);
        return new CompilationOutput(
            result.Models.Select(m => new ModelToEmit(m, options.Namespace)).ToEquatableArray(),
            result.Diagnostics.ToEquatableArray(),
            options.Namespace);
    }

    private static CatalogToEmit CatalogOf(CompilationOutput output) =>
        new(output.Models.Select(m => m.Model.Spec.Name).ToEquatableArray(), output.Namespace);

    private static void EmitModel(SourceProductionContext context, ModelToEmit model) =>
        context.AddSource(CSharpEmitter.HintName(model.Model.Spec.Name),
            SourceText.From(CSharpEmitter.EmitModel(model.Model, model.Namespace), Encoding.UTF8));

    private static void EmitOnnxGraph(SourceProductionContext context, ModelToEmit model) =>
        context.AddSource(CSharpEmitter.OnnxHintName(model.Model.Spec.Name),
            SourceText.From(CSharpEmitter.EmitOnnxGraph(model.Model, model.Namespace), Encoding.UTF8));

    private static void EmitCatalog(SourceProductionContext context, CatalogToEmit catalog)
    {
        if (catalog.ModelNames.IsEmpty) return;
        context.AddSource(CSharpEmitter.CatalogClassName + ".g.cs",
            SourceText.From(CSharpEmitter.EmitCatalog(catalog.ModelNames, catalog.Namespace), Encoding.UTF8));
    }

    private static void ReportDiagnostics(SourceProductionContext context, EquatableArray<SpecDiagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            var descriptor = RoslynDescriptors.GetOrAdd(diagnostic.Id, _ => ToRoslyn(diagnostic.Descriptor));
            var span = diagnostic.LineSpan;
            var location = Location.Create(diagnostic.Path,
                new TextSpan(diagnostic.Span.Start, diagnostic.Span.Length),
                new LinePositionSpan(new LinePosition(span.Start.Line, span.Start.Character), new LinePosition(span.End.Line, span.End.Character)));
            context.ReportDiagnostic(Diagnostic.Create(descriptor, location, diagnostic.Message));
        }
    }

    private static DiagnosticDescriptor ToRoslyn(Dsl.Diagnostics.DiagnosticDescriptor descriptor) => new(
        descriptor.Id,
        descriptor.Title,
        "{0}",
        "Segmenter." + descriptor.Category,
        descriptor.Severity == SpecSeverity.Error ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: $"{descriptor.Title}. See docs/diagnostics.md#{descriptor.Id.ToLowerInvariant()}.",
        helpLinkUri: $"docs/diagnostics.md#{descriptor.Id.ToLowerInvariant()}");
}
