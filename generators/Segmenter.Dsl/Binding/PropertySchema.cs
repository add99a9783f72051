using System.Collections.Generic;
using System.Linq;
using System.Text;
using Segmenter.Spec;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// The properties of each declaration kind and the arguments of each call: names, value kinds, ranges,
/// defaults and documentation. The single source for the binder (ranges, defaults), the messages
/// (examples), the generated resolution trail (defaults in spec syntax) and the property tables of
/// docs/spec-language.md (<see cref="MarkdownTable"/>).
/// </summary>
public static class PropertySchema
{
    /// <summary>Properties of <c>backbone Name { … }</c>.</summary>
    public static IReadOnlyList<PropertyInfo> Backbone { get; } = new[]
    {
        BackboneProperties.Layers, BackboneProperties.Width, BackboneProperties.Heads, BackboneProperties.MlpRatio, BackboneProperties.Distilled,
    };

    /// <summary>Properties of <c>model Name { … }</c>.</summary>
    public static IReadOnlyList<PropertyInfo> Model { get; } = new[]
    {
        ModelProperties.Backbone, ModelProperties.Patch, ModelProperties.Image, ModelProperties.Classes, ModelProperties.Decoder,
        ModelProperties.DropPath, ModelProperties.Dropout, ModelProperties.Normalize, ModelProperties.LayerNormEpsilon, ModelProperties.PositionEmbeddingResize,
    };

    /// <summary>Arguments of <c>mask(…)</c>.</summary>
    public static IReadOnlyList<PropertyInfo> MaskDecoder { get; } = new[]
    {
        MaskDecoderArguments.Layers, MaskDecoderArguments.Heads, MaskDecoderArguments.Width, MaskDecoderArguments.MlpRatio,
        MaskDecoderArguments.Dropout, MaskDecoderArguments.DropPath,
    };

    /// <summary>Arguments of <c>linear</c> (none).</summary>
    public static IReadOnlyList<PropertyInfo> LinearDecoder { get; } = new PropertyInfo[0];

    /// <summary>Arguments of <c>custom(…)</c> in <c>normalize</c>.</summary>
    public static IReadOnlyList<PropertyInfo> CustomNormalization { get; } = new[] { CustomNormalizationArguments.Mean, CustomNormalizationArguments.Std };

    /// <summary>The names in <paramref name="schema"/>, for messages.</summary>
    public static string Names(IReadOnlyList<PropertyInfo> schema) => string.Join(", ", schema.Select(p => p.Name));

    /// <summary>The property called <paramref name="name"/>, or null.</summary>
    public static PropertyInfo? Find(IReadOnlyList<PropertyInfo> schema, string name) => schema.FirstOrDefault(p => p.Name == name);

    /// <summary>
    /// The schema as a Markdown table (property or argument, type, default, meaning), as docs/spec-language.md
    /// shows it between <c>&lt;!-- properties:KIND:begin --&gt;</c> and <c>&lt;!-- properties:KIND:end --&gt;</c>.
    /// </summary>
    /// <param name="schema">One of the schema's lists.</param>
    /// <param name="firstColumn">The first column's heading: "property" for declarations, "argument" for calls.</param>
    public static string MarkdownTable(IReadOnlyList<PropertyInfo> schema, string firstColumn = "property")
    {
        var text = new StringBuilder();
        text.Append("| ").Append(firstColumn).Append(" | type | default | meaning |\n");
        text.Append("|---|---|---|---|\n");
        foreach (var property in schema)
            text.Append("| `").Append(property.Name).Append("` | ").Append(property.TypeText).Append(" | ")
                .Append(property.DefaultText).Append(" | ").Append(property.Description).Append(" |\n");
        return text.ToString();
    }

    /// <summary>The tables of docs/spec-language.md by block name (backbone, model, mask, custom), in the order the page shows them.</summary>
    public static IReadOnlyList<(string Block, string Table)> DocumentationTables() => new[]
    {
        ("backbone", MarkdownTable(Backbone)),
        ("model", MarkdownTable(Model)),
        ("mask", MarkdownTable(MaskDecoder, "argument")),
        ("custom", MarkdownTable(CustomNormalization, "argument")),
    };

    /// <summary>The properties of a backbone, one by one.</summary>
    public static class BackboneProperties
    {
        /// <summary><c>layers</c>: transformer blocks.</summary>
        public static PropertyInfo Layers { get; } = new("layers", ValueKind.Integer, "12", "transformer blocks L") { Range = ValueRange.Integers(1, 1000) };

        /// <summary><c>width</c>: token width.</summary>
        public static PropertyInfo Width { get; } = new("width", ValueKind.Integer, "768", "token width D") { Range = ValueRange.Integers(1, 1 << 16) };

        /// <summary><c>heads</c>: attention heads.</summary>
        public static PropertyInfo Heads { get; } = new("heads", ValueKind.Integer, "12", "attention heads; must divide `width`") { Range = ValueRange.Integers(1, 1 << 16) };

        /// <summary><c>mlp_ratio</c>: MLP hidden width ÷ width.</summary>
        public static PropertyInfo MlpRatio { get; } = new("mlp_ratio", ValueKind.Number, "4", "MLP hidden width = ratio × width (must be whole)")
        {
            Range = new ValueRange(0, false, 64, true),
            Default = PropertyDefault.Constant(4.0, "4.0"),
        };

        /// <summary><c>distilled</c>: a DeiT distillation token.</summary>
        public static PropertyInfo Distilled { get; } = new("distilled", ValueKind.Boolean, "false", "DeiT distillation token (E = 2 extra tokens)")
        {
            Default = PropertyDefault.Constant(false, "false"),
        };
    }

    /// <summary>The properties of a model, one by one.</summary>
    public static class ModelProperties
    {
        /// <summary><c>backbone</c>: the encoder.</summary>
        public static PropertyInfo Backbone { get; } = new("backbone", ValueKind.Backbone, "Base",
            "`Tiny`, or `Base(distilled = true, width = 512, heads = 8)`: any backbone property can be overridden");

        /// <summary><c>patch</c>: the patch size.</summary>
        public static PropertyInfo Patch { get; } = new("patch", ValueKind.Integer, "16", "patch size P") { Range = ValueRange.Integers(1, 4096) };

        /// <summary><c>image</c>: the training size.</summary>
        public static PropertyInfo Image { get; } = new("image", ValueKind.Size, "512",
            "training size (square, or `HxW`); each side a multiple of `patch`. It fixes the position-embedding grid; inputs of any size run.")
        {
            Range = ValueRange.Integers(1, 1 << 16),
        };

        /// <summary><c>classes</c>: the classes.</summary>
        public static PropertyInfo Classes { get; } = new("classes", ValueKind.Classes, "150",
            "`150`, `ade20k` (150), `pascal-context` (60), `cityscapes` (19), or `(\"sky\", \"road\")`")
        {
            Range = ValueRange.Integers(1, 65535),
        };

        /// <summary><c>decoder</c>: linear or mask transformer.</summary>
        public static PropertyInfo Decoder { get; } = new("decoder", ValueKind.Decoder, DecoderNames.Linear, "the decoder; `mask(…)` takes the arguments below")
        {
            Choices = DecoderNames.All,
            Default = PropertyDefault.Constant(DecoderSpec.Linear, DecoderNames.Linear),
        };

        /// <summary><c>drop_path</c>: the encoder's stochastic depth.</summary>
        public static PropertyInfo DropPath { get; } = new("drop_path", ValueKind.Number, "0.1", "encoder stochastic depth; block i uses rate · i / (L − 1)")
        {
            Range = ValueRange.HalfOpen(0, 1),
            Default = PropertyDefault.Constant(0.1, "0.1"),
        };

        /// <summary><c>dropout</c>: the encoder's dropout.</summary>
        public static PropertyInfo Dropout { get; } = new("dropout", ValueKind.Number, "0.0", "encoder dropout (after the position embedding and in every block)")
        {
            Range = ValueRange.HalfOpen(0, 1),
            Default = PropertyDefault.Constant(0.0, "0.0"),
        };

        /// <summary><c>normalize</c>: the input normalisation.</summary>
        public static PropertyInfo Normalize { get; } = new("normalize", ValueKind.Normalization, "vit",
            "input normalisation for images in [0, 1]: vit is mean = std = 0.5; imagenet (or deit) is (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225); custom takes the arguments below")
        {
            Choices = new[] { "vit", "imagenet", "deit", "custom" },
            Default = PropertyDefault.Constant(NormalizationSpec.Vit, "vit"),
        };

        /// <summary><c>layer_norm_eps</c>: the LayerNorm epsilon.</summary>
        public static PropertyInfo LayerNormEpsilon { get; } = new("layer_norm_eps", ValueKind.Number, "1e-5",
            "epsilon of every LayerNorm (the reference uses 1e-5; mmsegmentation 1e-6)")
        {
            Range = new ValueRange(1e-30, true, 1, false),   // float32 keeps it (its smallest normal number is 1.2e-38)
            Default = PropertyDefault.Constant(1e-5, "1e-5"),
        };

        /// <summary><c>pos_embed_resize</c>: how the position embedding is resized.</summary>
        public static PropertyInfo PositionEmbeddingResize { get; } = new("pos_embed_resize", ValueKind.Choice, "bilinear",
            "interpolation when the token grid differs from the training grid (the reference: bilinear; mmsegmentation: bicubic)")
        {
            Choices = new[] { "bilinear", "bicubic" },
            Default = PropertyDefault.Constant(ResizeMode.Bilinear, "bilinear"),
        };
    }

    /// <summary>The arguments of <c>mask(…)</c>, one by one.</summary>
    public static class MaskDecoderArguments
    {
        /// <summary><c>layers</c>: mask-transformer blocks.</summary>
        public static PropertyInfo Layers { get; } = new("layers", ValueKind.Integer, "2", "mask-transformer blocks")
        {
            Range = ValueRange.Integers(1, 1000),
            Default = PropertyDefault.Constant(2, "2"),
        };

        /// <summary><c>heads</c>: attention heads.</summary>
        public static PropertyInfo Heads { get; } = new("heads", ValueKind.Integer, "12", "attention heads; must divide the width")
        {
            Range = ValueRange.Integers(1, 1 << 16),
            Default = PropertyDefault.Computed("width ÷ 64, rounded down (as the reference computes them)"),
        };

        /// <summary><c>width</c>: the decoder's token width.</summary>
        public static PropertyInfo Width { get; } = new("width", ValueKind.Integer, "768", "token width of the decoder (the reference always uses the encoder's)")
        {
            Range = ValueRange.Integers(1, 1 << 16),
            Default = PropertyDefault.Computed("the encoder's width"),
        };

        /// <summary><c>mlp_ratio</c>: MLP hidden width ÷ width.</summary>
        public static PropertyInfo MlpRatio { get; } = new("mlp_ratio", ValueKind.Number, "4", "MLP hidden width ÷ width (must give a whole width)")
        {
            Range = new ValueRange(0, false, 64, true),
            Default = PropertyDefault.Constant(4.0, "4.0"),
        };

        /// <summary><c>dropout</c>: dropout in the decoder's blocks.</summary>
        public static PropertyInfo Dropout { get; } = new("dropout", ValueKind.Number, "0.1", "dropout in the decoder's blocks")
        {
            Range = ValueRange.HalfOpen(0, 1),
            Default = PropertyDefault.Constant(0.1, "0.1"),
        };

        /// <summary><c>drop_path</c>: stochastic depth in the decoder's blocks.</summary>
        public static PropertyInfo DropPath { get; } = new("drop_path", ValueKind.Number, "0.0", "stochastic depth in the decoder's blocks")
        {
            Range = ValueRange.HalfOpen(0, 1),
            Default = PropertyDefault.Constant(0.0, "0.0"),
        };
    }

    /// <summary>The arguments of <c>custom(…)</c> in <c>normalize</c>, one by one.</summary>
    public static class CustomNormalizationArguments
    {
        /// <summary><c>mean</c>: per-channel mean.</summary>
        public static PropertyInfo Mean { get; } = new("mean", ValueKind.Triple, "(0.485, 0.456, 0.406)", "per-channel mean, RGB, for images in [0, 1]")
        {
            Range = new ValueRange(-1e30, true, 1e30, true),   // finite in float32, as the models compute
        };

        /// <summary><c>std</c>: per-channel standard deviation.</summary>
        public static PropertyInfo Std { get; } = new("std", ValueKind.Triple, "(0.229, 0.224, 0.225)", "per-channel standard deviation, positive")
        {
            Range = new ValueRange(1e-30, true, 1e30, true),   // it and its reciprocal finite and not 0 in float32
        };
    }
}
