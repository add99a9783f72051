using System.Collections.Generic;
using System.Linq;

namespace Segmenter.Dsl.Binding;

/// <summary>The properties of each declaration kind and the arguments of each call. docs/spec-language.md follows this table.</summary>
public static class PropertySchema
{
    /// <summary>Properties of <c>backbone Name { … }</c>.</summary>
    public static IReadOnlyList<PropertyInfo> Backbone { get; } = new[]
    {
        new PropertyInfo("layers", true, "12", "transformer blocks L"),
        new PropertyInfo("width", true, "768", "token width D"),
        new PropertyInfo("heads", true, "12", "attention heads h; must divide width"),
        new PropertyInfo("mlp_ratio", false, "4", "MLP hidden width ÷ D (default 4)"),
        new PropertyInfo("distilled", false, "false", "DeiT distillation token (default false)"),
    };

    /// <summary>Properties of <c>model Name { … }</c>.</summary>
    public static IReadOnlyList<PropertyInfo> Model { get; } = new[]
    {
        new PropertyInfo("backbone", true, "Base", "a backbone name, optionally with overrides: Base(distilled = true)"),
        new PropertyInfo("patch", true, "16", "patch size P"),
        new PropertyInfo("image", true, "512", "training image size: 512 or 512x1024 (height x width); a multiple of the patch"),
        new PropertyInfo("classes", true, "150", "a class count, a dataset preset (ade20k, pascal-context, cityscapes) or a tuple of names"),
        new PropertyInfo("decoder", false, "linear", "linear (default) or mask(layers = 2, heads = …, width = …, dropout = 0.1, drop_path = 0)"),
        new PropertyInfo("drop_path", false, "0.1", "encoder stochastic depth, rising linearly to this rate (default 0.1)"),
        new PropertyInfo("dropout", false, "0.0", "encoder dropout (default 0)"),
        new PropertyInfo("normalize", false, "vit", "vit (default), imagenet, or custom(mean = (…), std = (…))"),
        new PropertyInfo("layer_norm_eps", false, "1e-5", "LayerNorm epsilon (default 1e-5; mmsegmentation uses 1e-6)"),
        new PropertyInfo("pos_embed_resize", false, "bilinear", "position-embedding interpolation: bilinear (default) or bicubic"),
    };

    /// <summary>Arguments of <c>mask(…)</c>.</summary>
    public static IReadOnlyList<PropertyInfo> MaskDecoder { get; } = new[]
    {
        new PropertyInfo("layers", false, "2", "mask-transformer blocks (default 2)"),
        new PropertyInfo("heads", false, "12", "heads (default width ÷ 64, rounded down, as the reference)"),
        new PropertyInfo("width", false, "768", "token width (default: the encoder's width)"),
        new PropertyInfo("mlp_ratio", false, "4", "MLP hidden width ÷ width (default 4)"),
        new PropertyInfo("dropout", false, "0.1", "dropout in the blocks (default 0.1)"),
        new PropertyInfo("drop_path", false, "0.0", "stochastic depth rate (default 0)"),
    };

    /// <summary>Arguments of <c>custom(…)</c> in <c>normalize</c>.</summary>
    public static IReadOnlyList<PropertyInfo> CustomNormalization { get; } = new[]
    {
        new PropertyInfo("mean", true, "(0.485, 0.456, 0.406)", "per-channel mean, RGB, for images in [0, 1]"),
        new PropertyInfo("std", true, "(0.229, 0.224, 0.225)", "per-channel standard deviation, positive"),
    };

    /// <summary>The names in <paramref name="schema"/>, for messages.</summary>
    public static string Names(IReadOnlyList<PropertyInfo> schema) => string.Join(", ", schema.Select(p => p.Name));

    /// <summary>The property called <paramref name="name"/>, or null.</summary>
    public static PropertyInfo? Find(IReadOnlyList<PropertyInfo> schema, string name) => schema.FirstOrDefault(p => p.Name == name);
}
