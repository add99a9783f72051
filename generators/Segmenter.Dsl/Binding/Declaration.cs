using System.Collections.Generic;
using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Binding;

/// <summary>A declaration found in some file, with its own properties and its resolved base.</summary>
internal sealed class Declaration
{
    public Declaration(DeclarationSyntax syntax, SourceText text)
    {
        Syntax = syntax;
        Text = text;
    }

    public DeclarationSyntax Syntax { get; }

    public SourceText Text { get; }

    public DeclarationKind Kind => Syntax.Kind;

    public string Name => Syntax.Name.Text;

    /// <summary>The properties written in this declaration (unknown and duplicate ones left out).</summary>
    public Dictionary<string, SourceValue> Properties { get; } = new();

    /// <summary>The declaration it inherits from, once resolved.</summary>
    public Declaration? Base { get; set; }

    /// <summary>True if this declaration itself has an error (syntax inside it, a bad property, a bad base).</summary>
    public bool HasErrors { get; set; }

    /// <summary>The declarations this one uses directly: its base and, for a model, the backbone it names (once resolved).</summary>
    public List<Declaration> Dependencies { get; } = new();

    /// <summary>True if its bases loop: it is in an inheritance cycle or inherits from one.</summary>
    public bool Loops { get; set; }

    /// <summary>
    /// Its properties after inheritance (derived ones override), shared with nothing else but not to be changed:
    /// copy before adding overrides. Null if its bases loop.
    /// </summary>
    public Dictionary<string, SourceValue>? Inherited { get; set; }

    /// <summary>False when some base in its chain could not be found (so required properties may be missing only for that reason).</summary>
    public bool Complete { get; set; } = true;

    /// <summary>True once it, or any of its bases, is known to have errors; null until the binder has decided.</summary>
    public bool? ChainHasErrors { get; set; }

    /// <summary>True once the duplicate-name error has been reported at this declaration (it is reported once, however many duplicates follow).</summary>
    public bool DuplicateReported { get; set; }

    /// <summary>"model 'X'" or "backbone 'X'", for messages.</summary>
    public string KindText => Kind == DeclarationKind.Model ? "model" : "backbone";

    /// <summary>"Model 'X'" or "Backbone 'X'", for messages.</summary>
    public string Title => (Kind == DeclarationKind.Model ? "Model" : "Backbone") + " '" + Name + "'";

    /// <summary>Where it is, as "path(line,col)".</summary>
    public string Location
    {
        get
        {
            var position = Text.GetLinePosition(Syntax.Name.Span.Start);
            return $"{Text.Path}({position.Line + 1},{position.Character + 1})";
        }
    }
}
