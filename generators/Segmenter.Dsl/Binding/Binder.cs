using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;
using Segmenter.Spec;
using static Segmenter.Dsl.Binding.PropertySchema;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// Binds the declarations of all spec files together: names (shared by all files), inheritance,
/// property types and defaults, then validates each model's architecture. A model with any error
/// in itself, its bases or its backbone yields no <see cref="CompiledModel"/>.
/// </summary>
internal sealed class Binder
{
    private readonly DiagnosticBag diagnostics;
    private readonly Dictionary<string, Declaration> backbones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Declaration> models = new(StringComparer.Ordinal);
    private readonly List<Declaration> declarations = new();

    private Binder(DiagnosticBag diagnostics) => this.diagnostics = diagnostics;

    public static IReadOnlyList<CompiledModel> Bind(IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> files,
        IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> library, DiagnosticBag diagnostics)
    {
        var binder = new Binder(diagnostics);
        binder.Declare(files);
        binder.DeclareLibrary(library);
        binder.ResolveBases();
        foreach (var backbone in binder.declarations.Where(d => d.Kind == DeclarationKind.Backbone && !d.Text.IsLibrary))
            binder.CheckStandaloneBackbone(backbone);
        return binder.declarations
            .Where(d => d.Kind == DeclarationKind.Model && !d.Text.IsLibrary && !d.Syntax.Name.IsMissing)
            .Select(binder.BindModel)
            .Where(m => m is not null)
            .Select(m => m!)
            .ToList();
    }

    private void Declare(IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> files)
    {
        foreach (var (file, syntaxErrors) in files)
        {
            foreach (var syntax in file.Declarations)
            {
                var declaration = new Declaration(syntax, file.Text);
                declaration.HasErrors = syntax.Name.IsMissing || HasSyntaxErrors(syntax, syntaxErrors);

                if (!syntax.Name.IsMissing)
                {
                    if (declaration.Kind == DeclarationKind.Model && !CheckClassName(declaration))
                        declaration.HasErrors = true;

                    var table = declaration.Kind == DeclarationKind.Model ? models : backbones;
                    if (table.TryGetValue(declaration.Name, out var first))
                    {
                        diagnostics.Report(DiagnosticDescriptors.DuplicateDeclaration, file.Text, syntax.Name.Span,
                            first.KindText == "model" ? "Model" : "Backbone", declaration.Name, first.Location);
                        declaration.HasErrors = true;
                        first.HasErrors = true; // which of the two is meant is unknown: build neither
                        continue;
                    }
                    table.Add(declaration.Name, declaration);
                }

                ReadOwnProperties(declaration);
                declarations.Add(declaration);
            }
        }
    }

    /// <summary>Adds the library's declarations whose names the project's files do not take.</summary>
    private void DeclareLibrary(IReadOnlyList<(SpecFileSyntax File, IReadOnlyList<SpecDiagnostic> SyntaxErrors)> library)
    {
        foreach (var (file, syntaxErrors) in library)
        {
            foreach (var syntax in file.Declarations)
            {
                if (syntax.Name.IsMissing) continue;
                var declaration = new Declaration(syntax, file.Text) { HasErrors = HasSyntaxErrors(syntax, syntaxErrors) };
                var table = declaration.Kind == DeclarationKind.Model ? models : backbones;
                if (table.ContainsKey(declaration.Name)) continue;
                table.Add(declaration.Name, declaration);
                ReadOwnProperties(declaration);
                declarations.Add(declaration);
            }
        }
    }

    private static bool HasSyntaxErrors(DeclarationSyntax syntax, IReadOnlyList<SpecDiagnostic> syntaxErrors) =>
        syntaxErrors.Any(e => e.IsError && e.Span.Start >= syntax.Span.Start && e.Span.Start <= syntax.Span.End);

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

    private void ResolveBases()
    {
        foreach (var declaration in declarations)
        {
            var baseToken = declaration.Syntax.BaseName;
            if (baseToken is null || baseToken.IsMissing) continue;

            var (same, other) = declaration.Kind == DeclarationKind.Model ? (models, backbones) : (backbones, models);
            if (same.TryGetValue(baseToken.Text, out var found))
            {
                declaration.Base = found;
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

        foreach (var declaration in declarations)
        {
            if (Chain(declaration) is null && InCycle(declaration, out var cycle))
            {
                diagnostics.Report(DiagnosticDescriptors.InheritanceCycle, declaration.Text, declaration.Syntax.BaseName!.Span,
                    declaration.Kind == DeclarationKind.Model ? "Model" : "Backbone", declaration.Name, string.Join(" : ", cycle));
                declaration.HasErrors = true;
            }
        }
    }

    /// <summary>The declaration and its bases, root first; null if the bases loop.</summary>
    private static List<Declaration>? Chain(Declaration declaration)
    {
        var chain = new List<Declaration>();
        var seen = new HashSet<Declaration>();
        for (var current = declaration; current is not null; current = current.Base)
        {
            if (!seen.Add(current)) return null;
            chain.Add(current);
        }
        chain.Reverse();
        return chain;
    }

    private static bool InCycle(Declaration declaration, out List<string> cycle)
    {
        cycle = new List<string> { declaration.Name };
        var seen = new HashSet<Declaration> { declaration };
        for (var current = declaration.Base; current is not null; current = current.Base)
        {
            cycle.Add(current.Name);
            if (current == declaration) return true;
            if (!seen.Add(current)) return false;
        }
        return false;
    }

    /// <summary>The properties of a declaration after inheritance (derived ones override), or null if its chain has errors.</summary>
    private static Dictionary<string, SourceValue>? Merged(Declaration declaration) =>
        Merged(declaration, out _, out var hasErrors) is { } merged && !hasErrors ? merged : null;

    /// <summary>
    /// The properties after inheritance even if the chain has errors (so that all of a model's problems
    /// are reported at once); null only if the bases loop. <paramref name="complete"/> is false when a
    /// base could not be found, since required properties may then be missing only for that reason.
    /// </summary>
    private static Dictionary<string, SourceValue>? Merged(Declaration declaration, out bool complete, out bool hasErrors)
    {
        var chain = Chain(declaration);
        complete = chain is not null && chain.All(d => d.Syntax.BaseName is null || d.Base is not null);
        hasErrors = chain is null || chain.Any(d => d.HasErrors);
        if (chain is null) return null;
        var merged = new Dictionary<string, SourceValue>(StringComparer.Ordinal);
        foreach (var link in chain)
        {
            foreach (var pair in link.Properties) merged[pair.Key] = pair.Value;
        }
        return merged;
    }

    private void CheckStandaloneBackbone(Declaration declaration)
    {
        var merged = Merged(declaration);
        if (merged is null) return;
        var reader = new ValueReader(diagnostics);
        if (ReadBackbone(declaration, merged, reader, declaration.Text, declaration.Syntax.Name.Span) is null)
            declaration.HasErrors = true;
    }

    /// <summary>A backbone from its (merged, possibly overridden) properties; required ones missing are reported at <paramref name="missingSpan"/>.</summary>
    private BackboneSpec? ReadBackbone(Declaration declaration, Dictionary<string, SourceValue> properties, ValueReader reader, SourceText missingText, TextSpan missingSpan)
    {
        int? Required(PropertyInfo property)
        {
            if (properties.TryGetValue(property.Name, out var value)) return reader.Integer(value, property);
            reader.Report(DiagnosticDescriptors.MissingProperty, missingText, missingSpan, "Backbone", declaration.Name, property.Name, property.Example);
            return null;
        }

        var layers = Required(BackboneProperties.Layers);
        var width = Required(BackboneProperties.Width);
        var heads = Required(BackboneProperties.Heads);
        var ratio = properties.TryGetValue(BackboneProperties.MlpRatio.Name, out var r) ? reader.Number(r, BackboneProperties.MlpRatio) : BackboneProperties.MlpRatio.Default!.As<double>();
        var distilled = properties.TryGetValue(BackboneProperties.Distilled.Name, out var d) ? reader.Boolean(d, BackboneProperties.Distilled) : BackboneProperties.Distilled.Default!.As<bool>();
        if (layers is null || width is null || heads is null || ratio is null || distilled is null) return null;

        bool ok = true;
        if (width.Value % heads.Value != 0)
        {
            var at = properties["heads"];
            reader.Report(DiagnosticDescriptors.HeadsDoNotDivideWidth, at.Text, at.Syntax.Span,
                $"Backbone '{declaration.Name}'", heads.Value, width.Value, Divisors(width.Value));
            ok = false;
        }
        var mlpWidth = MlpWidth(width.Value, ratio.Value, $"Backbone '{declaration.Name}'", properties.TryGetValue("mlp_ratio", out var ratioValue) ? ratioValue : (SourceValue?)null, reader);
        if (!ok || mlpWidth is null) return null;
        return new BackboneSpec(declaration.Name, layers.Value, width.Value, heads.Value, mlpWidth.Value, distilled.Value);
    }

    private static int? MlpWidth(int width, double ratio, string owner, SourceValue? ratioValue, ValueReader reader)
    {
        double product = width * ratio;
        double rounded = Math.Round(product);
        if (Math.Abs(product - rounded) > 1e-6 || rounded < 1)
        {
            if (ratioValue is { } at)
                reader.Report(DiagnosticDescriptors.MlpWidthNotWhole, at.Text, at.Syntax.Span, owner, width, ratio, product);
            else
                reader.Fail();
            return null;
        }
        return (int)rounded;
    }

    private CompiledModel? BindModel(Declaration declaration)
    {
        var properties = Merged(declaration, out var complete, out var hasErrors);
        if (properties is null) return null;

        var reader = new ValueReader(diagnostics) { Relocation = (declaration.Text, declaration.Syntax.Name.Span) };
        var nameSpan = declaration.Syntax.Name.Span;
        SourceValue? Get(string name) => properties.TryGetValue(name, out var value) ? value : null;
        SourceValue? Required(PropertyInfo property)
        {
            var value = Get(property.Name);
            if (value is null && complete && !declaration.Syntax.Name.IsMissing)
                reader.Report(DiagnosticDescriptors.MissingProperty, declaration.Text, nameSpan, "Model", declaration.Name, property.Name, property.Example);
            return value;
        }

        var backboneValue = Required(ModelProperties.Backbone);
        var patchValue = Required(ModelProperties.Patch);
        var imageValue = Required(ModelProperties.Image);
        var classesValue = Required(ModelProperties.Classes);

        var backbone = backboneValue is { } b ? BindBackboneReference(b, reader) : null;
        var patch = patchValue is { } p ? reader.Integer(p, ModelProperties.Patch) : null;
        var image = imageValue is { } i ? reader.Size(i, ModelProperties.Image) : null;
        var classes = classesValue is { } c ? BindClasses(c, reader) : null;
        var dropPath = Get(ModelProperties.DropPath.Name) is { } dp ? reader.Number(dp, ModelProperties.DropPath) : ModelProperties.DropPath.Default!.As<double>();
        var dropout = Get(ModelProperties.Dropout.Name) is { } dr ? reader.Number(dr, ModelProperties.Dropout) : ModelProperties.Dropout.Default!.As<double>();
        var normalization = Get(ModelProperties.Normalize.Name) is { } n ? BindNormalization(n, reader) : ModelProperties.Normalize.Default!.As<NormalizationSpec>();
        var epsilon = Get(ModelProperties.LayerNormEpsilon.Name) is { } e ? reader.Number(e, ModelProperties.LayerNormEpsilon) : ModelProperties.LayerNormEpsilon.Default!.As<double>();
        var resize = Get(ModelProperties.PositionEmbeddingResize.Name) is { } rz
            ? reader.Choice(rz, ModelProperties.PositionEmbeddingResize) is { } word ? (word == "bicubic" ? ResizeMode.Bicubic : ResizeMode.Bilinear) : (ResizeMode?)null
            : ModelProperties.PositionEmbeddingResize.Default!.As<ResizeMode>();
        var decoder = backbone is null ? null : BindDecoder(declaration, Get(ModelProperties.Decoder.Name), backbone, reader);

        if (patch is not null && image is not null && imageValue is { } imageAt && patchValue is { } patchAt)
        {
            var (height, width) = image.Value;
            if (height % patch.Value != 0 || width % patch.Value != 0)
            {
                var bad = height % patch.Value != 0 ? height : width;
                var lower = bad / patch.Value * patch.Value;
                var suggestion = lower == 0 ? $"{patch.Value}" : $"{lower} or {lower + patch.Value}";
                // Point at the value this declaration sets (an inherited one may be fine in its own model). If it
                // sets neither, the model it inherits from has the same problem and reports it there.
                var own = imageAt.Owner == declaration.Name ? imageAt : patchAt.Owner == declaration.Name ? patchAt : (SourceValue?)null;
                if (own is { } at)
                    reader.Report(DiagnosticDescriptors.ImageNotMultipleOfPatch, at.Text, at.Syntax.Span,
                        height == width ? $"{height}" : $"{height}x{width}", patch.Value, suggestion);
                else
                    reader.Fail();
            }
        }

        if (hasErrors || reader.Failed || backbone is null || patch is null || image is null || classes is null || decoder is null
            || dropPath is null || dropout is null || normalization is null || epsilon is null || resize is null)
            return null;

        var spec = new SegmenterSpec(
            declaration.Name, backbone, patch.Value, image.Value.Height, image.Value.Width,
            classes.Value.Count, classes.Value.Names, classes.Value.Dataset, decoder,
            dropPath.Value, dropout.Value, normalization, epsilon.Value, resize.Value);

        var resolution = PropertySchema.Model
            .Select(info => Get(info.Name) is { } v
                ? $"{info.Name} = {SyntaxPrinter.Print(v.Syntax)}" + (v.Owner == declaration.Name ? "" : $"  (from {v.Owner})")
                : $"{info.Name} = {info.Default!.Text}  (default)")
            .ToEquatableArray();
        return new CompiledModel(spec, declaration.Text.DisplayPath, declaration.Syntax.Keyword.Documentation, resolution);
    }

    private BackboneSpec? BindBackboneReference(SourceValue value, ValueReader reader)
    {
        if (value.Syntax is MissingValueSyntax)
        {
            reader.Fail();
            return null;
        }
        if (value.Syntax is not NameValueSyntax call)
        {
            reader.Report(DiagnosticDescriptors.WrongValueType, value.Text, value.Syntax.Span, "backbone",
                "a backbone name, e.g. Base or Base(distilled = true)", value.Syntax.Describe());
            return null;
        }
        if (!backbones.TryGetValue(call.Name.Text, out var declaration))
        {
            reader.Report(DiagnosticDescriptors.UnknownBackbone, value.Text, call.Name.Span, call.Name.Text,
                NameSuggestions.DidYouMean(call.Name.Text, backbones.Keys));
            return null;
        }
        var merged = Merged(declaration);
        if (merged is null || declaration.HasErrors)
        {
            reader.Fail();
            return null;
        }
        foreach (var pair in reader.Arguments(call, value.Text, value.Owner, PropertySchema.Backbone))
            merged[pair.Key] = pair.Value;
        return ReadBackbone(declaration, merged, reader, value.Text, call.Name.Span);
    }

    private (int Count, EquatableArray<string> Names, string? Dataset)? BindClasses(SourceValue value, ValueReader reader)
    {
        switch (value.Syntax)
        {
            case NumberValueSyntax:
                return reader.Integer(value, ModelProperties.Classes) is { } count ? (count, EquatableArray<string>.Empty, null) : null;
            case NameValueSyntax { Arguments: null } name:
            {
                var preset = DatasetPresets.Find(name.Name.Text);
                if (preset is null)
                {
                    reader.Report(DiagnosticDescriptors.UnknownPreset, value.Text, name.Span, name.Name.Text,
                        NameSuggestions.DidYouMean(name.Name.Text, DatasetPresets.All.Select(x => x.Name)),
                        string.Join(", ", DatasetPresets.All.Select(x => x.Name)));
                    return null;
                }
                return (preset.ClassNames.Count, preset.ClassNames, preset.Name);
            }
            case TupleValueSyntax tuple when tuple.Elements.Count > 0:
            {
                var names = new List<string>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                bool ok = true;
                foreach (var element in tuple.Elements)
                {
                    if (element is not StringValueSyntax text || text.Value.Trim().Length == 0)
                    {
                        if (element is MissingValueSyntax) reader.Fail();
                        else reader.Report(DiagnosticDescriptors.WrongValueType, value.Text, element.Span, "classes", "a non-empty class name in quotes", element.Describe());
                        ok = false;
                        continue;
                    }
                    if (!seen.Add(text.Value))
                    {
                        reader.Report(DiagnosticDescriptors.DuplicateClassName, value.Text, element.Span, text.Value);
                        ok = false;
                    }
                    names.Add(text.Value);
                }
                return ok ? (names.Count, names.ToEquatableArray(), null) : null;
            }
            case MissingValueSyntax:
                reader.Fail();
                return null;
            default:
                reader.Report(DiagnosticDescriptors.WrongValueType, value.Text, value.Syntax.Span, "classes",
                    "a class count, a dataset preset (" + string.Join(", ", DatasetPresets.All.Select(x => x.Name)) + ") or a tuple of class names", value.Syntax.Describe());
                return null;
        }
    }

    private DecoderSpec? BindDecoder(Declaration model, SourceValue? value, BackboneSpec backbone, ValueReader reader)
    {
        if (value is null) return ModelProperties.Decoder.Default!.As<DecoderSpec>();
        var at = value.Value;
        int failuresBefore = reader.Failures;
        if (at.Syntax is MissingValueSyntax)
        {
            reader.Fail();
            return null;
        }
        if (at.Syntax is not NameValueSyntax call)
        {
            reader.Report(DiagnosticDescriptors.WrongValueType, at.Text, at.Syntax.Span, "decoder", "linear or mask(…)", at.Syntax.Describe());
            return null;
        }
        switch (call.Name.Text)
        {
            case DecoderNames.Linear:
                reader.Arguments(call, at.Text, at.Owner, PropertySchema.LinearDecoder);
                return reader.Failures > failuresBefore ? null : DecoderSpec.Linear;
            case DecoderNames.Mask:
            {
                var arguments = reader.Arguments(call, at.Text, at.Owner, PropertySchema.MaskDecoder);
                SourceValue? Argument(string name) => arguments.TryGetValue(name, out var v) ? v : null;
                var layers = Argument(MaskDecoderArguments.Layers.Name) is { } l ? reader.Integer(l, MaskDecoderArguments.Layers) : MaskDecoderArguments.Layers.Default!.As<int>();
                var width = Argument(MaskDecoderArguments.Width.Name) is { } w ? reader.Integer(w, MaskDecoderArguments.Width) : DefaultMaskWidth(backbone);
                var ratio = Argument(MaskDecoderArguments.MlpRatio.Name) is { } r ? reader.Number(r, MaskDecoderArguments.MlpRatio) : MaskDecoderArguments.MlpRatio.Default!.As<double>();
                var dropout = Argument(MaskDecoderArguments.Dropout.Name) is { } d ? reader.Number(d, MaskDecoderArguments.Dropout) : MaskDecoderArguments.Dropout.Default!.As<double>();
                var dropPath = Argument(MaskDecoderArguments.DropPath.Name) is { } dp ? reader.Number(dp, MaskDecoderArguments.DropPath) : MaskDecoderArguments.DropPath.Default!.As<double>();
                var explicitHeads = Argument(MaskDecoderArguments.Heads.Name) is { } h ? reader.Integer(h, MaskDecoderArguments.Heads) : null;
                if (layers is null || width is null || ratio is null || dropout is null || dropPath is null || reader.Failures > failuresBefore)
                    return null;

                int heads = explicitHeads ?? DefaultMaskHeads(width.Value);
                var headsAt = Argument("heads") ?? at;
                if (heads == 0)
                {
                    reader.Report(DiagnosticDescriptors.DecoderHasNoHeads, at.Text, at.Syntax.Span, width.Value);
                    return null;
                }
                if (width.Value % heads != 0)
                {
                    reader.Report(DiagnosticDescriptors.DecoderHeadsDoNotDivideWidth, headsAt.Text, headsAt.Syntax.Span, heads,
                        explicitHeads is null ? " (width ÷ 64, the default)" : "", width.Value, Divisors(width.Value));
                    return null;
                }
                var mlpWidth = MlpWidth(width.Value, ratio.Value, $"Model '{model.Name}' mask decoder", Argument("mlp_ratio"), reader);
                if (mlpWidth is null) return null;
                return new DecoderSpec(DecoderKind.Mask, layers.Value, width.Value, heads, mlpWidth.Value, dropout.Value, dropPath.Value);
            }
            default:
                reader.Report(DiagnosticDescriptors.UnknownDecoder, at.Text, call.Name.Span, call.Name.Text);
                return null;
        }
    }

    private static NormalizationSpec? BindNormalization(SourceValue value, ValueReader reader)
    {
        if (value.Syntax is NameValueSyntax { Name.Text: "custom", Arguments: not null } call)
        {
            int failuresBefore = reader.Failures;
            var arguments = reader.Arguments(call, value.Text, value.Owner, PropertySchema.CustomNormalization);
            if (!arguments.TryGetValue("mean", out var meanValue) || !arguments.TryGetValue("std", out var stdValue))
            {
                if (reader.Failures == failuresBefore)
                    reader.Report(DiagnosticDescriptors.WrongValueType, value.Text, call.Span, "normalize",
                        "custom(mean = (r, g, b), std = (r, g, b)) with both mean and std", value.Syntax.Describe());
                return null;
            }
            var mean = reader.Triple(meanValue, CustomNormalizationArguments.Mean);
            var std = reader.Triple(stdValue, CustomNormalizationArguments.Std);
            return mean is null || std is null ? null : new NormalizationSpec("custom", mean.ToEquatableArray(), std.ToEquatableArray());
        }
        return reader.Choice(value, ModelProperties.Normalize) switch
        {
            "vit" => NormalizationSpec.Vit,
            "imagenet" or "deit" => NormalizationSpec.ImageNet,
            "custom" => ReportCustomWithoutArguments(value, reader),
            _ => null,
        };
    }

    private static NormalizationSpec? ReportCustomWithoutArguments(SourceValue value, ValueReader reader)
    {
        reader.Report(DiagnosticDescriptors.WrongValueType, value.Text, value.Syntax.Span, "normalize",
            "custom(mean = (r, g, b), std = (r, g, b)) with both mean and std", value.Syntax.Describe());
        return null;
    }

    /// <summary>The mask decoder's width when unset (<see cref="MaskDecoderArguments.Width"/>'s rule): the encoder's.</summary>
    private static int DefaultMaskWidth(BackboneSpec backbone) => backbone.Width;

    /// <summary>The mask decoder's heads when unset (<see cref="MaskDecoderArguments.Heads"/>'s rule): width ÷ 64, rounded down.</summary>
    private static int DefaultMaskHeads(int width) => width / 64;

    private static string Divisors(int width)
    {
        var divisors = Enumerable.Range(1, Math.Min(width, 64)).Where(d => width % d == 0).ToList();
        return string.Join(", ", divisors);
    }
}
