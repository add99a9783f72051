using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// Binds the declarations of all spec files together, stage by stage: <see cref="DeclarationTable"/> (names,
/// shared by all files, and each declaration's own properties), <see cref="Inheritance"/> (bases, cycles,
/// merged properties, dependencies), <see cref="ValueBinder"/> with <see cref="SpecValidator"/> (values into
/// spec records, the architecture's rules) and <see cref="ResolutionTrail"/>. A model with any error in
/// itself, its bases or its backbone yields no <see cref="CompiledModel"/>.
/// </summary>
internal static class Binder
{
    /// <summary>The models of <paramref name="files"/> that compiled, and the declarations with what each depends on.</summary>
    public static (IReadOnlyList<CompiledModel> Models, DeclarationGraph Graph) Bind(
        IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> files,
        IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> library, DiagnosticBag diagnostics)
    {
        var table = DeclarationTable.Declare(files, library, diagnostics);
        Inheritance.Resolve(table, diagnostics);

        var values = new ValueBinder(table, diagnostics);
        foreach (var backbone in table.Declarations.Where(d => d.Kind == DeclarationKind.Backbone && !d.Text.IsLibrary))
            CheckBackboneChain(backbone, values);

        var models = new List<CompiledModel>();
        foreach (var declaration in table.Declarations.Where(d => d.Kind == DeclarationKind.Model && !d.Text.IsLibrary && !d.Syntax.Name.IsMissing))
        {
            if (values.BindModel(declaration) is { } spec)
                models.Add(new CompiledModel(spec, declaration.Text.DisplayPath, declaration.Syntax.Keyword.Documentation,
                    ResolutionTrail.Of(declaration, declaration.Inherited!)));
        }
        return (models, DeclarationGraph.From(table.Declarations.Concat(table.Duplicates)));
    }

    /// <summary>
    /// Checks the project backbones of <paramref name="backbone"/>'s chain on their own, base first, and decides
    /// whether each chain has errors: a backbone whose base has errors is not checked again (its problems are the base's).
    /// </summary>
    private static void CheckBackboneChain(Declaration backbone, ValueBinder values)
    {
        if (backbone.Loops || backbone.ChainHasErrors is not null) return;
        var pending = new Stack<Declaration>();
        for (var current = backbone; current is not null && current.ChainHasErrors is null; current = current.Base)
            pending.Push(current);
        while (pending.Count > 0)
        {
            var link = pending.Pop();
            bool baseHasErrors = link.Base?.ChainHasErrors ?? false;
            if (!link.Text.IsLibrary && !link.HasErrors && !baseHasErrors && !values.CheckStandaloneBackbone(link))
                link.HasErrors = true;
            link.ChainHasErrors = link.HasErrors || baseHasErrors;
        }
    }
}
