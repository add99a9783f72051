using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Binding;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl;

/// <summary>Compiles spec files. All files share one namespace of backbones and models.</summary>
public static class SpecCompiler
{
    /// <summary>
    /// Parses, binds and validates <paramref name="sources"/> together. Never throws for any input:
    /// every problem is a diagnostic (the fuzz tests hold it to that).
    /// </summary>
    /// <param name="sources">
    /// The project's spec files, all compiled as ordinary sources (a tool asked about one file passes it with its
    /// sibling files, then uses <see cref="SpecCompilation.DeclaredModels"/> and <see cref="SpecCompilation.DiagnosticsFor"/>
    /// so that problems of unrelated files neither stop its models nor are blamed on it).
    /// </param>
    /// <param name="library">
    /// Files whose declarations <paramref name="sources"/> may use by name unless they declare the
    /// same name themselves (e.g. the zoo, <see cref="SpecLibrary"/>); their own models are not compiled.
    /// </param>
    public static SpecCompilation Compile(IEnumerable<SourceText> sources, IEnumerable<SourceText>? library = null)
    {
        var diagnostics = new DiagnosticBag();
        List<(SpecFileSyntax, IReadOnlyList<SpecDiagnostic>)> ParseAll(IEnumerable<SourceText> texts) =>
            texts.Select(source =>
            {
                var fileDiagnostics = new DiagnosticBag();
                var syntax = Parser.Parse(source, fileDiagnostics);
                var list = fileDiagnostics.ToList();
                if (!source.IsHidden) diagnostics.AddRange(list);   // the user can fix these; the built-in zoo has none
                return (syntax, (IReadOnlyList<SpecDiagnostic>)list);
            }).ToList();
        var files = ParseAll(sources.OrderBy(s => s.Path, StringComparer.Ordinal));
        var libraryFiles = ParseAll(library ?? Array.Empty<SourceText>());

        var (models, graph) = Binder.Bind(files, libraryFiles, diagnostics);
        var sorted = diagnostics
            .GroupBy(d => (d.Id, d.Path, d.Span, d.Message))
            .Select(g => g.First())
            .OrderBy(d => d.Path, StringComparer.Ordinal)
            .ThenBy(d => d.Span.Start)
            .ThenBy(d => d.Id, StringComparer.Ordinal)
            .ToList();
        return new SpecCompilation(models, sorted) { Graph = graph };
    }

    /// <summary>Compiles one spec text (convenience for tools and tests).</summary>
    public static SpecCompilation Compile(string text, string path = "spec.seg") => Compile(new[] { SourceText.From(text, path) });

    /// <summary>Only parses <paramref name="source"/> (no binding), returning the tree and its syntax diagnostics.</summary>
    public static (SpecFileSyntax Syntax, IReadOnlyList<SpecDiagnostic> Diagnostics) Parse(SourceText source)
    {
        var diagnostics = new DiagnosticBag();
        var syntax = Parser.Parse(source, diagnostics);
        return (syntax, diagnostics.ToList());
    }
}
