using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Binding;
using Segmenter.Dsl.Syntax;

namespace Segmenter.Dsl;

/// <summary>
/// Every declaration of a compilation with its direct dependencies, so that a tool can tell which diagnostics
/// concern a file or a model: those in it and in what it inherits from, never those of unrelated declarations.
/// </summary>
internal sealed class DeclarationGraph
{
    private DeclarationGraph(IReadOnlyList<DeclarationNode> nodes) => Nodes = nodes;

    /// <summary>An empty graph.</summary>
    public static DeclarationGraph Empty { get; } = new(Array.Empty<DeclarationNode>());

    /// <summary>The declarations, project files first, in file order.</summary>
    public IReadOnlyList<DeclarationNode> Nodes { get; }

    /// <summary>The graph of the binder's <paramref name="declarations"/>.</summary>
    public static DeclarationGraph From(IEnumerable<Declaration> declarations)
    {
        var nodes = new Dictionary<Declaration, DeclarationNode>();
        var ordered = new List<DeclarationNode>();
        foreach (var declaration in declarations)
        {
            var node = new DeclarationNode(declaration.Kind, declaration.Syntax.Name.IsMissing ? "" : declaration.Name,
                declaration.Text.Path, declaration.Syntax.Span, declaration.Text.IsLibrary);
            nodes.Add(declaration, node);
            ordered.Add(node);
        }
        foreach (var pair in nodes)
        {
            foreach (var dependency in pair.Key.Dependencies)
            {
                if (nodes.TryGetValue(dependency, out var target)) pair.Value.DependsOn.Add(target);
            }
        }
        return new DeclarationGraph(ordered);
    }

    /// <summary>The project declarations in <paramref name="path"/>, in order.</summary>
    public IEnumerable<DeclarationNode> In(string path) => Nodes.Where(n => !n.IsLibrary && n.Path == path);

    /// <summary><paramref name="roots"/> and everything they depend on, transitively (each node once).</summary>
    public static HashSet<DeclarationNode> Closure(IEnumerable<DeclarationNode> roots)
    {
        var seen = new HashSet<DeclarationNode>();
        var pending = new Stack<DeclarationNode>(roots);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (!seen.Add(node)) continue;
            foreach (var dependency in node.DependsOn) pending.Push(dependency);
        }
        return seen;
    }

    /// <summary>The project models called <paramref name="name"/> (more than one only when the name is declared twice).</summary>
    public IEnumerable<DeclarationNode> ModelsNamed(string name) =>
        Nodes.Where(n => !n.IsLibrary && n.Kind == DeclarationKind.Model && n.Name == name);
}
