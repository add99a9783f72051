using System;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Segmenter.Dsl.Generator;

/// <summary>
/// Turns every <c>*.seg</c> AdditionalFile into model classes: one source per model (and its ONNX part when the
/// project references Segmenter.Export), a catalog, and
/// the compiler's diagnostics at their spec file, line and column. All pipeline values are
/// value-equal records, so an unrelated C# edit leaves every output cached, a comment-only spec edit
/// leaves them unchanged, and a change to one model regenerates only that model.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SegmenterGenerator : IIncrementalGenerator
{
    /// <summary>The assembly whose reference turns on the models' ONNX parts (<c>X.Onnx.g.cs</c>, implementing its <c>IOnnxExportable</c>).</summary>
    public const string OnnxExportAssemblyName = "Segmenter.Export";

    /// <summary>The zoo's specs, embedded in this assembly: the library every project's specs may use.</summary>
    internal static System.Collections.Generic.IReadOnlyList<Text.SourceText> Library { get; } = SpecLibrary.FromResources(typeof(SegmenterGenerator).Assembly);

    /// <summary>Tracking names of the pipeline steps (for incremental-cache tests).</summary>
    public static class Steps
    {
        /// <summary>The spec files read from AdditionalFiles.</summary>
        public const string SpecFiles = nameof(SpecFiles);
        /// <summary>The MSBuild options.</summary>
        public const string Options = nameof(Options);
        /// <summary>The compilation of all spec files together (not "Compilation", which Roslyn's own compilation input is called).</summary>
        public const string Compilation = "SpecCompilation";
        /// <summary>One item per model to emit.</summary>
        public const string Models = nameof(Models);
        /// <summary>The catalog's input.</summary>
        public const string Catalog = nameof(Catalog);
        /// <summary>The diagnostics.</summary>
        public const string Diagnostics = nameof(Diagnostics);
        /// <summary>Whether the compilation references Segmenter.Export (so models get their ONNX part).</summary>
        public const string OnnxExport = nameof(OnnxExport);
    }

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var options = context.AnalyzerConfigOptionsProvider
            .Select(static (provider, _) => ReadOptions(provider.GlobalOptions))
            .WithTrackingName(Steps.Options);

        var files = context.AdditionalTextsProvider
            .Where(static text => text.Path.EndsWith(".seg", StringComparison.OrdinalIgnoreCase))
            .Combine(options)
            .Select(static (pair, cancellation) => ReadFile(pair.Left, pair.Right, cancellation))
            .WithTrackingName(Steps.SpecFiles);

        var compilation = files.Collect()
            .Combine(options)
            .Select(static (pair, _) => Compile(pair.Left, pair.Right))
            .WithTrackingName(Steps.Compilation);

        var models = compilation
            .SelectMany(static (output, _) => output.Models)
            .WithTrackingName(Steps.Models);
        context.RegisterSourceOutput(models, static (spc, model) => EmitModel(spc, model));

        // A bool, so the step is Unchanged (and the ONNX parts cached) on every edit that keeps the answer.
        var onnxExport = context.CompilationProvider
            .Select(static (compilation, _) => compilation.ReferencedAssemblyNames.Any(a => a.Name == OnnxExportAssemblyName))
            .WithTrackingName(Steps.OnnxExport);
        context.RegisterSourceOutput(models.Combine(onnxExport), static (spc, pair) =>
        {
            if (pair.Right) EmitOnnxGraph(spc, pair.Left);
        });

        var catalog = compilation
            .Select(static (output, _) => CatalogOf(output))
            .WithTrackingName(Steps.Catalog);
        context.RegisterSourceOutput(catalog, static (spc, info) => EmitCatalog(spc, info));

        var diagnostics = compilation
            .Select(static (output, _) => output.Diagnostics)
            .WithTrackingName(Steps.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, list) => ReportDiagnostics(spc, list));
    }
}
