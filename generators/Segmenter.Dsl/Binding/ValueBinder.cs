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
/// The value-binding stage: turns a declaration's merged properties into the spec records (backbone, decoder,
/// normalisation, classes, the model), with ranges and defaults from <see cref="PropertySchema"/> and the
/// architecture's rules checked by <see cref="SpecValidator"/>. A value that cannot be read is reported at the
/// value (or, for a hidden library value, at the project declaration that uses it).
/// </summary>
internal sealed class ValueBinder
{
    private readonly DeclarationTable table;
    private readonly DiagnosticBag diagnostics;

    public ValueBinder(DeclarationTable table, DiagnosticBag diagnostics)
    {
        this.table = table;
        this.diagnostics = diagnostics;
    }

    /// <summary>Checks a backbone on its own (as declared, without overrides); false if it has a problem.</summary>
    public bool CheckStandaloneBackbone(Declaration declaration)
    {
        var reader = new ValueReader(diagnostics);
        return ReadBackbone(declaration, declaration.Inherited!, reader, declaration.Text, declaration.Syntax.Name.Span) is not null;
    }

    /// <summary>
    /// The spec of a model, or null if it or its chain has errors. All of its problems are reported at once,
    /// even when a base has errors too; required properties are reported missing only when every base was found.
    /// </summary>
    public SegmenterSpec? BindModel(Declaration declaration)
    {
        var properties = declaration.Inherited;
        if (properties is null) return null;
        bool complete = declaration.Complete;
        bool hasErrors = Inheritance.ChainHasErrors(declaration);

        var reader = new ValueReader(diagnostics) { Relocation = (declaration.Text, declaration.Syntax.Name.Span) };
        var nameSpan = declaration.Syntax.Name.Span;
        SourceValue? Get(PropertyInfo property) => properties.TryGetValue(property.Name, out var value) ? value : null;
        SourceValue? Required(PropertyInfo property)
        {
            var value = Get(property);
            if (value is null && complete && !declaration.Syntax.Name.IsMissing)
                reader.Report(DiagnosticDescriptors.MissingProperty, declaration.Text, nameSpan, "Model", declaration.Name, property.Name, property.Example);
            return value;
        }

        var backboneValue = Required(ModelProperties.Backbone);
        var patchValue = Required(ModelProperties.Patch);
        var imageValue = Required(ModelProperties.Image);
        var classesValue = Required(ModelProperties.Classes);

        var backbone = backboneValue is { } b ? BindBackboneCall(b, reader) : null;
        var patch = patchValue is { } p ? reader.Integer(p, ModelProperties.Patch) : null;
        var image = imageValue is { } i ? reader.Size(i, ModelProperties.Image) : null;
        var classes = classesValue is { } c ? BindClasses(c, reader) : null;
        var dropPath = Get(ModelProperties.DropPath) is { } dp ? reader.Number(dp, ModelProperties.DropPath) : ModelProperties.DropPath.Default!.As<double>();
        var dropout = Get(ModelProperties.Dropout) is { } dr ? reader.Number(dr, ModelProperties.Dropout) : ModelProperties.Dropout.Default!.As<double>();
        var normalization = Get(ModelProperties.Normalize) is { } n ? BindNormalization(n, reader) : ModelProperties.Normalize.Default!.As<NormalizationSpec>();
        var epsilon = Get(ModelProperties.LayerNormEpsilon) is { } e ? reader.Number(e, ModelProperties.LayerNormEpsilon) : ModelProperties.LayerNormEpsilon.Default!.As<double>();
        var resize = Get(ModelProperties.PositionEmbeddingResize) is { } rz ? BindResize(rz, reader) : ModelProperties.PositionEmbeddingResize.Default!.As<ResizeMode>();
        var decoder = backbone is null ? null : BindDecoder(declaration, Get(ModelProperties.Decoder), backbone, reader);

        if (patch is not null && image is not null && imageValue is { } imageAt && patchValue is { } patchAt)
        {
            if (SpecValidator.ImageMultipleOfPatch(image.Value.Height, image.Value.Width, patch.Value, imageAt, patchAt, declaration.Name, reader))
                SpecValidator.GridFits(image.Value.Height, image.Value.Width, patch.Value, imageAt, patchAt, declaration.Name, reader);
        }

        if (hasErrors || reader.Failed || backbone is null || patch is null || image is null || classes is null || decoder is null
            || dropPath is null || dropout is null || normalization is null || epsilon is null || resize is null)
            return null;

        return new SegmenterSpec(
            declaration.Name, backbone, patch.Value, image.Value.Height, image.Value.Width,
            classes.Value.Count, classes.Value.Names, classes.Value.Dataset, decoder,
            dropPath.Value, dropout.Value, normalization, epsilon.Value, resize.Value);
    }

    /// <summary>A backbone from its (merged, possibly overridden) properties; required ones missing are reported at <paramref name="missingSpan"/>.</summary>
    private BackboneSpec? ReadBackbone(Declaration declaration, IReadOnlyDictionary<string, SourceValue> properties, ValueReader reader, SourceText missingText, TextSpan missingSpan)
    {
        int? Required(PropertyInfo property)
        {
            if (properties.TryGetValue(property.Name, out var value)) return reader.Integer(value, property);
            reader.Report(DiagnosticDescriptors.MissingProperty, missingText, missingSpan, "Backbone", declaration.Name, property.Name, property.Example);
            return null;
        }
        SourceValue? Get(PropertyInfo property) => properties.TryGetValue(property.Name, out var value) ? value : null;

        var layers = Required(BackboneProperties.Layers);
        var width = Required(BackboneProperties.Width);
        var heads = Required(BackboneProperties.Heads);
        var ratioValue = Get(BackboneProperties.MlpRatio);
        var ratio = ratioValue is { } r ? reader.Number(r, BackboneProperties.MlpRatio) : BackboneProperties.MlpRatio.Default!.As<double>();
        var distilled = Get(BackboneProperties.Distilled) is { } d ? reader.Boolean(d, BackboneProperties.Distilled) : BackboneProperties.Distilled.Default!.As<bool>();
        if (layers is null || width is null || heads is null || ratio is null || distilled is null) return null;

        var owner = $"Backbone '{declaration.Name}'";
        bool ok = SpecValidator.HeadsDivideWidth(width.Value, heads.Value, properties[BackboneProperties.Heads.Name], owner, reader);
        var mlpWidth = SpecValidator.MlpWidth(width.Value, ratio.Value, owner, ratioValue, reader);
        if (!ok || mlpWidth is null) return null;
        return new BackboneSpec(declaration.Name, layers.Value, width.Value, heads.Value, mlpWidth.Value, distilled.Value);
    }

    private BackboneSpec? BindBackboneCall(SourceValue value, ValueReader reader)
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
        if (!table.Backbones.TryGetValue(call.Name.Text, out var declaration))
        {
            reader.Report(DiagnosticDescriptors.UnknownBackbone, value.Text, call.Name.Span, call.Name.Text,
                NameSuggestions.DidYouMean(call.Name.Text, table.Backbones.Keys));
            return null;
        }
        if (declaration.Inherited is null || Inheritance.ChainHasErrors(declaration))
        {
            reader.Fail();
            return null;
        }
        var merged = new Dictionary<string, SourceValue>(declaration.Inherited, StringComparer.Ordinal);
        foreach (var pair in reader.Arguments(call, value.Text, value.Owner, PropertySchema.Backbone))
            merged[pair.Key] = pair.Value;
        return ReadBackbone(declaration, merged, reader, value.Text, call.Name.Span);
    }

    private static (int Count, EquatableArray<string> Names, string? Dataset)? BindClasses(SourceValue value, ValueReader reader)
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
                var range = ModelProperties.Classes.Range!;
                if (ok && names.Count > range.Maximum)
                {
                    reader.Report(DiagnosticDescriptors.ValueOutOfRange, value.Text, value.Syntax.Span, "classes",
                        $"{range.DescribeIntegers()} names", $"a tuple of {names.Count} names");
                    ok = false;
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

    private static DecoderSpec? BindDecoder(Declaration model, SourceValue? value, BackboneSpec backbone, ValueReader reader)
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
            reader.Report(DiagnosticDescriptors.WrongValueType, at.Text, at.Syntax.Span, "decoder", $"{DecoderNames.Linear} or {DecoderNames.Mask}(…)", at.Syntax.Describe());
            return null;
        }
        switch (call.Name.Text)
        {
            case DecoderNames.Linear:
                reader.Arguments(call, at.Text, at.Owner, PropertySchema.LinearDecoder);
                return reader.Failures > failuresBefore ? null : DecoderSpec.Linear;
            case DecoderNames.Mask:
                return BindMaskDecoder(model, at, call, backbone, reader, failuresBefore);
            default:
                reader.Report(DiagnosticDescriptors.UnknownDecoder, at.Text, call.Name.Span, call.Name.Text);
                return null;
        }
    }

    private static DecoderSpec? BindMaskDecoder(Declaration model, SourceValue at, NameValueSyntax call, BackboneSpec backbone, ValueReader reader, int failuresBefore)
    {
        var arguments = reader.Arguments(call, at.Text, at.Owner, PropertySchema.MaskDecoder);
        SourceValue? Argument(PropertyInfo argument) => arguments.TryGetValue(argument.Name, out var v) ? v : null;
        var layers = Argument(MaskDecoderArguments.Layers) is { } l ? reader.Integer(l, MaskDecoderArguments.Layers) : MaskDecoderArguments.Layers.Default!.As<int>();
        var width = Argument(MaskDecoderArguments.Width) is { } w ? reader.Integer(w, MaskDecoderArguments.Width) : DefaultMaskWidth(backbone);
        var ratio = Argument(MaskDecoderArguments.MlpRatio) is { } r ? reader.Number(r, MaskDecoderArguments.MlpRatio) : MaskDecoderArguments.MlpRatio.Default!.As<double>();
        var dropout = Argument(MaskDecoderArguments.Dropout) is { } d ? reader.Number(d, MaskDecoderArguments.Dropout) : MaskDecoderArguments.Dropout.Default!.As<double>();
        var dropPath = Argument(MaskDecoderArguments.DropPath) is { } dp ? reader.Number(dp, MaskDecoderArguments.DropPath) : MaskDecoderArguments.DropPath.Default!.As<double>();
        var explicitHeads = Argument(MaskDecoderArguments.Heads) is { } h ? reader.Integer(h, MaskDecoderArguments.Heads) : null;
        if (layers is null || width is null || ratio is null || dropout is null || dropPath is null || reader.Failures > failuresBefore)
            return null;

        int heads = explicitHeads ?? DefaultMaskHeads(width.Value);
        if (!SpecValidator.DecoderHeads(width.Value, heads, explicitHeads is null, at, Argument(MaskDecoderArguments.Heads) ?? at, reader))
            return null;
        var mlpWidth = SpecValidator.MlpWidth(width.Value, ratio.Value, $"Model '{model.Name}' mask decoder", Argument(MaskDecoderArguments.MlpRatio), reader);
        if (mlpWidth is null) return null;
        return new DecoderSpec(DecoderKind.Mask, layers.Value, width.Value, heads, mlpWidth.Value, dropout.Value, dropPath.Value);
    }

    /// <summary>The mask decoder's width when unset (<see cref="MaskDecoderArguments.Width"/>'s rule): the encoder's.</summary>
    private static int DefaultMaskWidth(BackboneSpec backbone) => backbone.Width;

    /// <summary>The mask decoder's heads when unset (<see cref="MaskDecoderArguments.Heads"/>'s rule): width ÷ 64, rounded down.</summary>
    private static int DefaultMaskHeads(int width) => width / 64;

    private static ResizeMode? BindResize(SourceValue value, ValueReader reader) =>
        reader.Choice(value, ModelProperties.PositionEmbeddingResize) switch
        {
            "bicubic" => ResizeMode.Bicubic,
            "bilinear" => ResizeMode.Bilinear,
            _ => null,
        };

    private static NormalizationSpec? BindNormalization(SourceValue value, ValueReader reader)
    {
        if (value.Syntax is NameValueSyntax { Name.Text: "custom", Arguments: not null } call)
        {
            int failuresBefore = reader.Failures;
            var arguments = reader.Arguments(call, value.Text, value.Owner, PropertySchema.CustomNormalization);
            if (!arguments.TryGetValue(CustomNormalizationArguments.Mean.Name, out var meanValue) || !arguments.TryGetValue(CustomNormalizationArguments.Std.Name, out var stdValue))
            {
                if (reader.Failures == failuresBefore) ReportCustomWithoutArguments(value, reader);
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
}
