using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;

namespace Segmenter.Dsl;

/// <summary>
/// The result of compiling a set of spec files: the models without errors, and every diagnostic. Tools apply
/// one rule through it: a model is usable when it and everything it inherits from (its bases, its backbone and
/// the backbone's bases) are free of errors; errors elsewhere belong to their own files
/// (<see cref="DiagnosticsFor"/>, <see cref="DiagnosticsForModel"/>).
/// </summary>
/// <param name="Models">The models that compiled, in file order.</param>
/// <param name="Diagnostics">All diagnostics, sorted by file and position, without duplicates.</param>
public sealed record SpecCompilation(IReadOnlyList<CompiledModel> Models, IReadOnlyList<SpecDiagnostic> Diagnostics)
{
    /// <summary>The declarations and their dependencies (empty for a compilation made by hand).</summary>
    internal DeclarationGraph Graph { get; init; } = DeclarationGraph.Empty;

    /// <summary>True if any diagnostic is an error.</summary>
    public bool HasErrors => Diagnostics.Any(d => d.IsError);

    /// <summary>The compiled model called <paramref name="name"/>, or null.</summary>
    public CompiledModel? Find(string name) => Models.FirstOrDefault(m => m.Spec.Name == name);

    /// <summary>The names of the models declared in the file <paramref name="path"/> (as given to the compiler), in order, including those that did not compile.</summary>
    public IReadOnlyList<string> DeclaredModels(string path) =>
        Graph.In(path).Where(n => n.Kind == DeclarationKind.Model && n.Name.Length > 0).Select(n => n.Name).ToList();

    /// <summary>
    /// The diagnostics located in the file <paramref name="path"/>, and those located in other files' declarations
    /// that a declaration of this file depends on, transitively (bases, backbones and their bases): what stops
    /// this file's models, and nothing about unrelated declarations. In the order of <see cref="Diagnostics"/>.
    /// </summary>
    public IReadOnlyList<SpecDiagnostic> DiagnosticsFor(string path)
    {
        var dependencies = DeclarationGraph.Closure(Graph.In(path)).Where(n => n.Path != path).ToList();
        return Diagnostics.Where(d => d.Path == path || dependencies.Any(n => n.Contains(d))).ToList();
    }

    /// <summary>
    /// The errors that make the model called <paramref name="name"/> unusable: those in its declaration and in the
    /// declarations it depends on, transitively. Empty if it compiled (or no project file declares it).
    /// </summary>
    public IReadOnlyList<SpecDiagnostic> DiagnosticsForModel(string name)
    {
        if (Find(name) is not null) return new SpecDiagnostic[0];
        var declarations = DeclarationGraph.Closure(Graph.ModelsNamed(name));
        return Diagnostics.Where(d => d.IsError && declarations.Any(n => n.Contains(d))).ToList();
    }
}
