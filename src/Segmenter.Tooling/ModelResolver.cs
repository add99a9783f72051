using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Text;
using Segmenter.Runtime;

using Segmenter.Models;

namespace Segmenter.Tooling;

/// <summary>
/// Resolves the <c>&lt;model&gt;</c> argument of tools: a zoo name (<c>SegT16</c>); a spec file
/// <c>path/to/file.seg</c> (its only model) or <c>path/to/file.seg:Name</c>; or the reference implementation's
/// <c>variant.yml</c> (or the folder holding it). A file is compiled in memory, together with the
/// declarations of the other .seg files in its folder and the built-in zoo, which it may use by name.
/// </summary>
public static class ModelResolver
{
    /// <summary>The zoo's spec files (embedded in the zoo assembly, Segmenter.Models): the library any spec may use by name (<c>model Mine : SegT16 { … }</c>).</summary>
    public static IReadOnlyList<SourceText> ZooSpecs { get; } = SpecLibrary.FromResources(typeof(SegmenterModels).Assembly);

    /// <summary>The zoo: every model in specs/, generated at build time.</summary>
    public static IReadOnlyList<ModelEntry> Zoo => SegmenterModels.All;

    /// <summary>True if <paramref name="argument"/> names a spec file rather than a zoo model.</summary>
    public static bool IsSpecFile(string argument) => SplitPathArgument(argument).Path.EndsWith(".seg", StringComparison.OrdinalIgnoreCase);

    /// <summary>The model <paramref name="argument"/> names; throws with an actionable message if it names none.</summary>
    public static ModelEntry Resolve(string argument)
    {
        if (string.IsNullOrWhiteSpace(argument))
            throw new ArgumentException("no model given: name a zoo model (see 'segmenter list') or a spec file path/to/file.seg[:Model]");
        if (IsSpecFile(argument))
            return ResolveFile(argument);
        if (ReferenceVariant.IsVariant(argument))
            return DynamicModels.Load(new[] { ReferenceVariant.Read(argument).Compile() }).Single();

        var entry = Zoo.FirstOrDefault(m => m.Name == argument)
                    ?? Zoo.FirstOrDefault(m => string.Equals(m.Name, argument, StringComparison.OrdinalIgnoreCase));
        if (entry is not null) return entry;
        throw new ArgumentException($"unknown model '{argument}': zoo models are {string.Join(", ", Zoo.Select(m => m.Name))}; or give a spec file path/to/file.seg[:Model] or a reference variant.yml");
    }

    /// <summary>The checkpoint that goes with <paramref name="argument"/> when none is given: the checkpoint.pth beside a reference variant.yml.</summary>
    public static string? DefaultCheckpoint(string argument) =>
        !IsSpecFile(argument) && ReferenceVariant.IsVariant(argument) ? ReferenceVariant.Read(argument).Checkpoint : null;

    /// <summary>Compiles <paramref name="path"/> (with its folder's other specs and the zoo as declarations it may use).</summary>
    public static SpecCompilation CompileFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"spec file '{path}' does not exist", path);
        var full = Path.GetFullPath(path);
        var source = SourceText.From(File.ReadAllText(full), path);
        var siblings = Directory.GetFiles(Path.GetDirectoryName(full)!, "*.seg")
            .Where(f => !string.Equals(Path.GetFullPath(f), full, StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => SourceText.Reference(File.ReadAllText(f), f));
        return SpecCompiler.Compile(new[] { source }, siblings.Concat(ZooSpecs));
    }

    private static ModelEntry ResolveFile(string argument)
    {
        var (path, name) = SplitPathArgument(argument);
        var compilation = CompileFile(path);
        var errors = compilation.Diagnostics.Where(d => d.IsError).ToList();

        CompiledModel? model;
        if (name is null)
        {
            if (errors.Count > 0) throw new SpecCompilationException($"{path} has errors", errors);
            if (compilation.Models.Count == 1) model = compilation.Models[0];
            else if (compilation.Models.Count == 0) throw new ArgumentException($"{path} declares no model");
            else throw new ArgumentException($"{path} declares several models ({string.Join(", ", compilation.Models.Select(m => m.Spec.Name))}); choose one with {path}:Name");
        }
        else
        {
            model = compilation.Find(name);
            if (model is null)
            {
                if (errors.Count > 0) throw new SpecCompilationException($"model '{name}' in {path} does not compile", errors);
                throw new ArgumentException($"{path} has no model '{name}'; it declares {string.Join(", ", compilation.Models.Select(m => m.Spec.Name))}");
            }
        }
        return DynamicModels.Load(new[] { model }).Single();
    }

    /// <summary>Splits "path.seg:Name"; anything else is a path alone.</summary>
    private static (string Path, string? Name) SplitPathArgument(string argument)
    {
        var (path, name) = PathArgument.Split(argument);
        return name is not null && path.EndsWith(".seg", StringComparison.OrdinalIgnoreCase) ? (path, name) : (argument, null);
    }
}
