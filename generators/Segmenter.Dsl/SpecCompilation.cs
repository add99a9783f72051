using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Diagnostics;

namespace Segmenter.Dsl;

/// <summary>The result of compiling a set of spec files: the models without errors, and every diagnostic.</summary>
/// <param name="Models">The models that compiled, in file order.</param>
/// <param name="Diagnostics">All diagnostics, sorted by file and position, without duplicates.</param>
public sealed record SpecCompilation(IReadOnlyList<CompiledModel> Models, IReadOnlyList<SpecDiagnostic> Diagnostics)
{
    /// <summary>True if any diagnostic is an error.</summary>
    public bool HasErrors => Diagnostics.Any(d => d.IsError);

    /// <summary>The compiled model called <paramref name="name"/>, or null.</summary>
    public CompiledModel? Find(string name) => Models.FirstOrDefault(m => m.Spec.Name == name);
}
