using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Dsl.Emit;
using Segmenter.Runtime;

namespace Segmenter.Tooling;

/// <summary>
/// Compiles spec files at run time, in memory: the spec compiler, then the same C# emitter the
/// source generator uses, then Roslyn — so a new variant can be tried without creating a project.
/// </summary>
public static class DynamicModels
{
    /// <summary>The namespace of models compiled at run time.</summary>
    public const string Namespace = "Segmenter.Dynamic";

    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(LoadReferences);

    /// <summary>The emitted C# sources of <paramref name="models"/> (each class and its ONNX partial: this library references Segmenter.Export) and their catalog, by hint name.</summary>
    public static IReadOnlyList<(string HintName, string Source)> Emit(IReadOnlyList<CompiledModel> models) =>
        models.SelectMany(m => new[]
            {
                (CSharpEmitter.HintName(m.Spec.Name), CSharpEmitter.EmitModel(m, Namespace)),
                (CSharpEmitter.OnnxHintName(m.Spec.Name), CSharpEmitter.EmitOnnxGraph(m, Namespace)),
            })
            .Append((CSharpEmitter.CatalogClassName + ".g.cs", CSharpEmitter.EmitCatalog(models.Select(m => m.Spec.Name), Namespace)))
            .ToList();

    /// <summary>
    /// Compiles the emitted C# of <paramref name="models"/> with Roslyn, loads it, and returns its catalog.
    /// Throws <see cref="InvalidOperationException"/> listing the C# diagnostics if the code does not compile
    /// (which would be a bug in the emitter).
    /// </summary>
    public static IReadOnlyList<ModelEntry> Load(IReadOnlyList<CompiledModel> models)
    {
        if (models.Count == 0) return Array.Empty<ModelEntry>();
        var (assemblyImage, diagnostics) = CompileToImage(models, "Segmenter.Dynamic." + Guid.NewGuid().ToString("N"));
        if (assemblyImage is null)
            throw new InvalidOperationException("The generated C# did not compile:\n" + string.Join("\n", diagnostics));
        var assembly = AssemblyLoadContext.Default.LoadFromStream(new MemoryStream(assemblyImage));
        var catalog = assembly.GetType(Namespace + "." + CSharpEmitter.CatalogClassName, throwOnError: true)!;
        return (IReadOnlyList<ModelEntry>)catalog.GetProperty("All", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
    }

    /// <summary>Compiles the models' C#; returns the assembly image (null on errors) and every diagnostic, warnings included.</summary>
    public static (byte[]? Image, IReadOnlyList<Diagnostic> Diagnostics) CompileToImage(IReadOnlyList<CompiledModel> models, string assemblyName)
    {
        var parseOptions = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = Emit(models).Select(s => CSharpSyntaxTree.ParseText(s.Source, parseOptions, path: s.HintName)).ToList();
        var compilation = CSharpCompilation.Create(assemblyName, trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                optimizationLevel: OptimizationLevel.Release, warningLevel: 9999));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var diagnostics = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        return (result.Success ? image.ToArray() : null, diagnostics);
    }

    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                        || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Concat(new[]
            {
                typeof(TorchSharp.torch).Assembly.Location, typeof(SegmenterModel).Assembly.Location, typeof(SegmenterSpec).Assembly.Location,
                typeof(Segmenter.Export.IOnnxExportable).Assembly.Location, typeof(Onnx.ModelProto).Assembly.Location, typeof(Google.Protobuf.ByteString).Assembly.Location,
            })
            .Where(p => p.Length > 0 && File.Exists(p))
            .Distinct(StringComparer.Ordinal);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }
}
