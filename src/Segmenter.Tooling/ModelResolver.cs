using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
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
        CheckGiven(argument);
        if (IsSpecFile(argument) || ReferenceVariant.IsVariant(argument))
            return DynamicModels.Load(new[] { ResolveCompiled(argument) }).Single();
        return ZooEntry(argument);
    }

    /// <summary>
    /// The compiled model <paramref name="argument"/> names (its spec, source, documentation and resolution trail), for
    /// emitters: a zoo model is compiled from the zoo's own spec files.
    /// </summary>
    public static CompiledModel ResolveCompiled(string argument)
    {
        CheckGiven(argument);
        if (IsSpecFile(argument)) return ResolveFile(argument);
        if (ReferenceVariant.IsVariant(argument)) return ReferenceVariant.Read(argument).Compile();
        var name = ZooEntry(argument).Name;
        var zoo = SpecCompiler.Compile(ZooSpecs.Select(s => SourceText.From(s.Text, s.Path)));
        return zoo.Find(name) ?? throw new InvalidOperationException($"the zoo's spec files do not compile {name}, which the zoo was generated from");
    }

    private static void CheckGiven(string argument)
    {
        if (string.IsNullOrWhiteSpace(argument))
            throw new ArgumentException("no model given: name a zoo model (see 'segmenter list') or a spec file path/to/file.seg[:Model]");
    }

    private static ModelEntry ZooEntry(string argument) =>
        Zoo.FirstOrDefault(m => m.Name == argument)
        ?? Zoo.FirstOrDefault(m => string.Equals(m.Name, argument, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown model '{argument}': zoo models are {string.Join(", ", Zoo.Select(m => m.Name))}; or give a spec file path/to/file.seg[:Model] or a reference variant.yml");

    /// <summary>The checkpoint that goes with <paramref name="argument"/> when none is given: the checkpoint.pth beside a reference variant.yml.</summary>
    public static string? DefaultCheckpoint(string argument) =>
        !IsSpecFile(argument) && ReferenceVariant.IsVariant(argument) ? ReferenceVariant.Read(argument).Checkpoint : null;

    /// <summary>Compiles <paramref name="path"/> as the build would (see <see cref="CompileFiles"/>).</summary>
    public static SpecCompilation CompileFile(string path) => CompileFiles(new[] { path });

    /// <summary>
    /// Compiles spec files as the build does: each given file together with the other <c>.seg</c> files of its folder,
    /// all as ordinary project files, and the built-in zoo as the library. The given files keep their paths as given (in
    /// diagnostics); a file given twice is compiled once. Which models are usable and which diagnostics concern a file
    /// follow the compiler's one rule (<see cref="SpecCompilation.DiagnosticsFor"/>, <see cref="SpecCompilation.DiagnosticsForModel"/>):
    /// a broken file beside a valid one never stops the valid one's models.
    /// </summary>
    public static SpecCompilation CompileFiles(IEnumerable<string> paths)
    {
        var sources = new Dictionary<string, SourceText>(StringComparer.Ordinal);
        var given = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path)) throw new ArgumentException($"'{path}' is a folder; give the spec files in it, e.g. {Path.Combine(path, "*.seg")}");
            var full = Path.GetFullPath(path);
            if (given.Contains(full)) continue;
            sources[full] = SourceText.From(SpecFiles.Read(path), path);
            given.Add(full);
        }
        foreach (var folder in given.Select(f => Path.GetDirectoryName(f)!).Distinct(StringComparer.Ordinal).ToList())
        {
            foreach (var sibling in Directory.GetFiles(folder, "*.seg").Select(Path.GetFullPath).OrderBy(f => f, StringComparer.Ordinal))
            {
                if (sources.ContainsKey(sibling)) continue;
                string text;
                try
                {
                    text = SpecFiles.Read(sibling);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;   // a sibling that cannot be read is not part of what was asked; only the given files must be readable
                }
                sources[sibling] = SourceText.From(text, sibling);
            }
        }
        return SpecCompiler.Compile(sources.Values, ZooSpecs);
    }

    private static CompiledModel ResolveFile(string argument)
    {
        var (path, name) = SplitPathArgument(argument);
        var compilation = CompileFile(path);
        var declared = compilation.DeclaredModels(path);
        if (name is null && declared.Count > 1)
        {
            var usable = declared.Where(n => compilation.Find(n) is not null).ToList();
            throw new ArgumentException($"{path} declares several models ({string.Join(", ", declared)}); choose one with {path}:Name" +
                                        (usable.Count < declared.Count ? $" ({(usable.Count == 0 ? "none" : string.Join(", ", usable))} compile{(usable.Count == 1 ? "s" : "")})" : ""));
        }
        return Models(compilation, path, name).Single();
    }

    /// <summary>
    /// The models a spec file declares (or only the one called <paramref name="name"/>), compiled as the build would
    /// (<see cref="CompileFiles"/>); throws, with the diagnostics that concern it, if one of them does not compile.
    /// </summary>
    public static IReadOnlyList<CompiledModel> FileModels(string path, string? name = null) => Models(CompileFile(path), path, name);

    private static IReadOnlyList<CompiledModel> Models(SpecCompilation compilation, string path, string? name)
    {
        var declared = compilation.DeclaredModels(path);
        if (name is not null && !declared.Contains(name))
            throw new ArgumentException($"{path} has no model '{name}'; it declares {(declared.Count == 0 ? "none" : string.Join(", ", declared))}");
        if (declared.Count == 0)
        {
            var errors = compilation.DiagnosticsFor(path).Where(d => d.IsError).ToList();
            if (errors.Count > 0) throw new SpecCompilationException($"{path} has errors", errors);
            throw new ArgumentException($"{path} declares no model");
        }
        return (name is null ? declared : new[] { name })
            .Select(n => compilation.Find(n) ?? throw new SpecCompilationException($"model '{n}' in {path} does not compile", compilation.DiagnosticsForModel(n)))
            .ToList();
    }

    /// <summary>Splits "path.seg:Name"; anything else is a path alone.</summary>
    private static (string Path, string? Name) SplitPathArgument(string argument)
    {
        var (path, name) = PathArgument.Split(argument);
        return name is not null && path.EndsWith(".seg", StringComparison.OrdinalIgnoreCase) ? (path, name) : (argument, null);
    }
}
