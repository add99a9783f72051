using System;
using System.Collections.Generic;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// The inheritance stage: resolves each declaration's base (reporting unknown bases and bases of the other
/// kind), finds inheritance cycles, merges inherited properties and records what each declaration depends
/// on. Every step visits each declaration a bounded number of times, so a chain of n declarations binds in
/// O(n) (a cycle's messages, which name all of its members, are the only output longer than that).
/// </summary>
internal static class Inheritance
{
    /// <summary>Resolves bases, cycles, inherited properties and dependencies of every declaration in <paramref name="table"/>.</summary>
    public static void Resolve(DeclarationTable table, DiagnosticBag diagnostics)
    {
        foreach (var declaration in table.Declarations)
        {
            ResolveBase(declaration, table, diagnostics);
            RecordBackboneDependency(declaration, table);
        }
        FindCycles(table.Declarations, diagnostics);
        foreach (var declaration in table.Declarations)
            Merge(declaration);
    }

    private static void ResolveBase(Declaration declaration, DeclarationTable table, DiagnosticBag diagnostics)
    {
        var baseToken = declaration.Syntax.BaseName;
        if (baseToken is null || baseToken.IsMissing) return;

        var same = table.Of(declaration.Kind);
        var other = table.Of(declaration.Kind == DeclarationKind.Model ? DeclarationKind.Backbone : DeclarationKind.Model);
        if (same.TryGetValue(baseToken.Text, out var found))
        {
            declaration.Base = found;
            declaration.Dependencies.Add(found);
        }
        else if (other.TryGetValue(baseToken.Text, out var wrongKind))
        {
            diagnostics.Report(DiagnosticDescriptors.BaseKindMismatch, declaration.Text, baseToken.Span,
                declaration.Kind == DeclarationKind.Model ? "Model" : "Backbone", declaration.Name, wrongKind.KindText, wrongKind.Name);
            declaration.HasErrors = true;
        }
        else
        {
            diagnostics.Report(DiagnosticDescriptors.UnknownBase, declaration.Text, baseToken.Span,
                declaration.KindText, baseToken.Text, NameSuggestions.DidYouMean(baseToken.Text, same.Keys));
            declaration.HasErrors = true;
        }
    }

    /// <summary>A model that names a backbone itself (<c>backbone = Base(…)</c>) depends on that backbone.</summary>
    private static void RecordBackboneDependency(Declaration declaration, DeclarationTable table)
    {
        if (declaration.Kind != DeclarationKind.Model) return;
        if (declaration.Properties.TryGetValue(PropertySchema.ModelProperties.Backbone.Name, out var value)
            && value.Syntax is NameValueSyntax call && table.Backbones.TryGetValue(call.Name.Text, out var backbone))
            declaration.Dependencies.Add(backbone);
    }

    /// <summary>
    /// Follows each declaration's bases once: a walk stops at the first declaration already finished, so every
    /// declaration is entered once. A walk that comes back to its own path has found a cycle; each member is
    /// reported, and every declaration on the path (members and those leading into it) loops.
    /// </summary>
    private static void FindCycles(List<Declaration> declarations, DiagnosticBag diagnostics)
    {
        var positionOnPath = new Dictionary<Declaration, int>();
        var finished = new HashSet<Declaration>();
        var path = new List<Declaration>();
        foreach (var start in declarations)
        {
            if (finished.Contains(start)) continue;
            path.Clear();
            positionOnPath.Clear();
            var current = start;
            while (current is not null && !finished.Contains(current) && !positionOnPath.ContainsKey(current))
            {
                positionOnPath.Add(current, path.Count);
                path.Add(current);
                current = current.Base;
            }

            bool loops = false;
            if (current is not null && positionOnPath.TryGetValue(current, out var cycleStart))
            {
                ReportCycle(path, cycleStart, diagnostics);
                loops = true;
            }
            else if (current is not null)
            {
                loops = current.Loops;
            }
            foreach (var declaration in path)
            {
                declaration.Loops = loops;
                finished.Add(declaration);
            }
        }
    }

    private static void ReportCycle(List<Declaration> path, int cycleStart, DiagnosticBag diagnostics)
    {
        int length = path.Count - cycleStart;
        for (int i = 0; i < length; i++)
        {
            var member = path[cycleStart + i];
            var names = new List<string>(length + 1);
            for (int j = 0; j <= length; j++) names.Add(path[cycleStart + (i + j) % length].Name);
            diagnostics.Report(DiagnosticDescriptors.InheritanceCycle, member.Text, member.Syntax.BaseName!.Span,
                member.Kind == DeclarationKind.Model ? "Model" : "Backbone", member.Name, string.Join(" : ", names));
            member.HasErrors = true;
        }
    }

    /// <summary>
    /// Sets <see cref="Declaration.Inherited"/> and <see cref="Declaration.Complete"/> of <paramref name="declaration"/>
    /// and of its bases, base first; a declaration already merged is not merged again.
    /// </summary>
    private static void Merge(Declaration declaration)
    {
        if (declaration.Loops || declaration.Inherited is not null) return;
        var pending = new Stack<Declaration>();
        for (var current = declaration; current is not null && current.Inherited is null; current = current.Base)
            pending.Push(current);
        while (pending.Count > 0)
        {
            var link = pending.Pop();
            var merged = link.Base?.Inherited is { } inherited
                ? new Dictionary<string, SourceValue>(inherited, StringComparer.Ordinal)
                : new Dictionary<string, SourceValue>(StringComparer.Ordinal);
            foreach (var pair in link.Properties) merged[pair.Key] = pair.Value;
            link.Inherited = merged;
            link.Complete = (link.Syntax.BaseName is null || link.Base is not null) && (link.Base?.Complete ?? true);
        }
    }

    /// <summary>
    /// Whether <paramref name="declaration"/> or a base has errors, remembered per declaration once decided
    /// (callers decide a chain base first where errors may still be found, as the binder does for backbones).
    /// </summary>
    public static bool ChainHasErrors(Declaration declaration)
    {
        if (declaration.ChainHasErrors is { } known) return known;
        if (declaration.Loops) return true;
        var pending = new Stack<Declaration>();
        for (var current = declaration; current is not null && current.ChainHasErrors is null; current = current.Base)
            pending.Push(current);
        while (pending.Count > 0)
        {
            var link = pending.Pop();
            link.ChainHasErrors = link.HasErrors || (link.Base?.ChainHasErrors ?? false);
        }
        return declaration.ChainHasErrors!.Value;
    }
}
