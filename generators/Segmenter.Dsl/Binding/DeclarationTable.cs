using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// The declarations stage: every declaration of the project's files and the library, in two name tables
/// (models and backbones, shared by all files), with duplicate names and invalid class names reported and
/// each declaration's own properties read (unknown and repeated ones reported).
/// </summary>
internal sealed class DeclarationTable
{
    private readonly DiagnosticBag diagnostics;

    private DeclarationTable(DiagnosticBag diagnostics) => this.diagnostics = diagnostics;

    /// <summary>Backbones by name.</summary>
    public Dictionary<string, Declaration> Backbones { get; } = new(StringComparer.Ordinal);

    /// <summary>Models by name.</summary>
    public Dictionary<string, Declaration> Models { get; } = new(StringComparer.Ordinal);

    /// <summary>The declarations that take part in binding, project files first (in file order), then the library's unshadowed ones.</summary>
    public List<Declaration> Declarations { get; } = new();

    /// <summary>Project declarations left out of binding because their name was taken (reported as duplicates).</summary>
    public List<Declaration> Duplicates { get; } = new();

    /// <summary>The table of <paramref name="kind"/>.</summary>
    public Dictionary<string, Declaration> Of(DeclarationKind kind) => kind == DeclarationKind.Model ? Models : Backbones;

    /// <summary>Declares the project's <paramref name="files"/>, then the <paramref name="library"/>'s declarations whose names the files do not take.</summary>
    public static DeclarationTable Declare(IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> files,
        IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> library, DiagnosticBag diagnostics)
    {
        var table = new DeclarationTable(diagnostics);
        foreach (var (file, syntaxErrors) in files)
        {
            foreach (var syntax in file.Declarations)
                table.DeclareProjectDeclaration(new Declaration(syntax, file.Text), syntaxErrors);
        }
        foreach (var (file, syntaxErrors) in library)
        {
            foreach (var syntax in file.Declarations)
            {
                if (syntax.Name.IsMissing) continue;
                var declaration = new Declaration(syntax, file.Text) { HasErrors = HasSyntaxErrors(syntax, syntaxErrors) };
                var names = table.Of(declaration.Kind);
                if (names.ContainsKey(declaration.Name)) continue;
                names.Add(declaration.Name, declaration);
                table.ReadOwnProperties(declaration);
                table.Declarations.Add(declaration);
            }
        }
        return table;
    }

    /// <summary>True if a syntax error lies within <paramref name="syntax"/> (its end included).</summary>
    public static bool HasSyntaxErrors(DeclarationSyntax syntax, IReadOnlyList<SpecDiagnostic> syntaxErrors) =>
        syntaxErrors.Any(e => e.IsError && e.Span.Start >= syntax.Span.Start && e.Span.Start <= syntax.Span.End);

    private void DeclareProjectDeclaration(Declaration declaration, IReadOnlyList<SpecDiagnostic> syntaxErrors)
    {
        var syntax = declaration.Syntax;
        declaration.HasErrors = syntax.Name.IsMissing || HasSyntaxErrors(syntax, syntaxErrors);
        if (!syntax.Name.IsMissing)
        {
            if (declaration.Kind == DeclarationKind.Model && !CheckClassName(declaration))
                declaration.HasErrors = true;

            var names = Of(declaration.Kind);
            if (names.TryGetValue(declaration.Name, out var first))
            {
                // Which of the two is meant is unknown: build neither, and say so at both.
                var title = first.KindText == "model" ? "Model" : "Backbone";
                diagnostics.Report(DiagnosticDescriptors.DuplicateDeclaration, declaration.Text, syntax.Name.Span, title, declaration.Name, first.Location);
                if (!first.DuplicateReported)
                {
                    diagnostics.Report(DiagnosticDescriptors.DuplicateDeclaration, first.Text, first.Syntax.Name.Span, title, first.Name, declaration.Location);
                    first.DuplicateReported = true;
                }
                declaration.HasErrors = true;
                first.HasErrors = true;
                Duplicates.Add(declaration);
                return;
            }
            names.Add(declaration.Name, declaration);
            if (declaration.Kind == DeclarationKind.Model && !declaration.HasErrors)
            {
                // Generated files are named after models (Foo.g.cs, foo.py): two names that differ only in case would be one
                // file to the build's hint names and to file systems that do not tell case apart.
                if (modelsIgnoringCase.TryGetValue(declaration.Name, out var other))
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidName, declaration.Text, syntax.Name.Span, declaration.Name,
                        $"it differs from model '{other.Name}' ({other.Location}) only in case, and the files generated for a model are named after it; rename one");
                    declaration.HasErrors = true;
                }
                else
                {
                    modelsIgnoringCase.Add(declaration.Name, declaration);
                }
            }
        }

        ReadOwnProperties(declaration);
        Declarations.Add(declaration);
    }

    private readonly Dictionary<string, Declaration> modelsIgnoringCase = new(StringComparer.OrdinalIgnoreCase);

    private bool CheckClassName(Declaration declaration)
    {
        var problem = CSharpNames.Problem(declaration.Name);
        if (problem is null) return true;
        diagnostics.Report(DiagnosticDescriptors.InvalidName, declaration.Text, declaration.Syntax.Name.Span, declaration.Name, problem);
        return false;
    }

    private void ReadOwnProperties(Declaration declaration)
    {
        var schema = declaration.Kind == DeclarationKind.Model ? PropertySchema.Model : PropertySchema.Backbone;
        var seen = new Dictionary<string, PropertySyntax>(StringComparer.Ordinal);
        foreach (var property in declaration.Syntax.Properties)
        {
            var name = property.Name.Text;
            if (PropertySchema.Find(schema, name) is null)
            {
                var hint = NameSuggestions.DidYouMean(name, schema.Select(p => p.Name));
                if (hint.Length == 0 && declaration.Kind == DeclarationKind.Model && PropertySchema.Find(PropertySchema.Backbone, name) is not null)
                    hint = $" (backbone properties go in the backbone: backbone = Base({name} = …))";
                diagnostics.Report(DiagnosticDescriptors.UnknownProperty, declaration.Text, property.Name.Span,
                    name, declaration.KindText, hint, PropertySchema.Names(schema));
                declaration.HasErrors = true;
                continue;
            }
            if (seen.TryGetValue(name, out var first))
            {
                diagnostics.Report(DiagnosticDescriptors.DuplicateProperty, declaration.Text, property.Name.Span,
                    name, declaration.KindText, declaration.Text.GetLinePosition(first.Span.Start).Line + 1);
                declaration.HasErrors = true;
                continue;
            }
            seen.Add(name, property);
            declaration.Properties[name] = new SourceValue(property.Value, declaration.Text, declaration.Name);
        }
    }
}
