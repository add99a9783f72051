using System;

namespace Segmenter.Dsl;

/// <summary>
/// A Segmenter variant with every hyper-parameter resolved (inheritance applied, defaults filled in,
/// validated). Value-equal: two specs that describe the same model are equal.
/// </summary>
/// <param name="Name">The model's name, a valid C# identifier.</param>
/// <param name="Backbone">The ViT encoder.</param>
/// <param name="PatchSize">The patch size P.</param>
/// <param name="ImageHeight">The training image height (the position-embedding grid is ImageHeight / P high).</param>
/// <param name="ImageWidth">The training image width.</param>
/// <param name="NumClasses">The number of classes K.</param>
/// <param name="ClassNames">The class names: K of them, or empty when only a count was given.</param>
/// <param name="Dataset">The dataset preset the classes come from (ade20k, pascal-context, cityscapes), or null.</param>
/// <param name="Decoder">The decoder.</param>
/// <param name="DropPathRate">The encoder's stochastic-depth rate, reached linearly at its last block.</param>
/// <param name="Dropout">The encoder's dropout.</param>
/// <param name="Normalization">The input normalisation the model was trained with.</param>
/// <param name="LayerNormEpsilon">The epsilon of every LayerNorm (1e-5 in the reference, 1e-6 in mmsegmentation and timm).</param>
/// <param name="PositionEmbeddingResize">How the position embedding is resized to other grids.</param>
public sealed record SegmenterSpec(
    string Name,
    BackboneSpec Backbone,
    int PatchSize,
    int ImageHeight,
    int ImageWidth,
    int NumClasses,
    EquatableArray<string> ClassNames,
    string? Dataset,
    DecoderSpec Decoder,
    double DropPathRate,
    double Dropout,
    NormalizationSpec Normalization,
    double LayerNormEpsilon,
    ResizeMode PositionEmbeddingResize)
{
    /// <summary>Tokens before the patch tokens: the class token, and the distillation token if distilled.</summary>
    public int ExtraTokens => Backbone.Distilled ? 2 : 1;

    /// <summary>The training position-embedding grid height.</summary>
    public int GridHeight => ImageHeight / PatchSize;

    /// <summary>The training position-embedding grid width.</summary>
    public int GridWidth => ImageWidth / PatchSize;

    /// <summary>The name of class <paramref name="index"/>: its declared name, or "class {index}".</summary>
    public string ClassName(int index) =>
        index >= 0 && index < ClassNames.Count ? ClassNames[index] : "class " + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The paper's short name, e.g. "Seg-B-Mask/16" or "Seg-B†/16" (backbone name's first letter for Tiny/Small/Base/Large).</summary>
    public string PaperName
    {
        get
        {
            var size = Backbone.Name.Length > 0 ? Backbone.Name.Substring(0, 1).ToUpperInvariant() : "?";
            var dagger = Backbone.Distilled ? "†" : "";
            var mask = Decoder.Kind == DecoderKind.Mask ? "-Mask" : "";
            return $"Seg-{size}{dagger}{mask}/{PatchSize}";
        }
    }
}

/// <summary>A ViT encoder's shape.</summary>
/// <param name="Name">The backbone declaration's name (e.g. Tiny).</param>
/// <param name="Layers">The number of transformer blocks L.</param>
/// <param name="Width">The token width D.</param>
/// <param name="Heads">The attention heads h (D divisible by h).</param>
/// <param name="MlpWidth">The MLP's hidden width (MLP ratio × D).</param>
/// <param name="Distilled">True for DeiT-distilled backbones (an extra distillation token).</param>
public sealed record BackboneSpec(string Name, int Layers, int Width, int Heads, int MlpWidth, bool Distilled)
{
    /// <summary>D / h.</summary>
    public int HeadWidth => Width / Heads;
}

/// <summary>The decoder kinds of the paper.</summary>
public enum DecoderKind
{
    /// <summary>A linear layer on each patch token.</summary>
    Linear,
    /// <summary>The mask transformer: learned class embeddings decoded jointly with the patches.</summary>
    Mask,
}

/// <summary>The decoder. For <see cref="DecoderKind.Linear"/> only <see cref="Kind"/> matters (the other fields are 0).</summary>
/// <param name="Kind">Linear or mask transformer.</param>
/// <param name="Layers">Mask transformer blocks M.</param>
/// <param name="Width">Mask transformer token width (the encoder's width unless set).</param>
/// <param name="Heads">Mask transformer heads (width ÷ 64 rounded down unless set).</param>
/// <param name="MlpWidth">Mask transformer MLP width (4 × width).</param>
/// <param name="Dropout">Dropout in the mask transformer's blocks.</param>
/// <param name="DropPathRate">Stochastic-depth rate reached at the mask transformer's last block.</param>
public sealed record DecoderSpec(DecoderKind Kind, int Layers, int Width, int Heads, int MlpWidth, double Dropout, double DropPathRate)
{
    /// <summary>The linear decoder.</summary>
    public static DecoderSpec Linear { get; } = new(DecoderKind.Linear, 0, 0, 0, 0, 0, 0);
}

/// <summary>Input normalisation: images scaled to [0, 1], then (x − mean) / std per channel (RGB).</summary>
/// <param name="Name">vit, imagenet or custom.</param>
/// <param name="Mean">Three channel means.</param>
/// <param name="Std">Three channel standard deviations.</param>
public sealed record NormalizationSpec(string Name, EquatableArray<double> Mean, EquatableArray<double> Std)
{
    /// <summary>ViT (timm, augreg): mean = std = 0.5.</summary>
    public static NormalizationSpec Vit { get; } = new("vit", EquatableArray.Create(0.5, 0.5, 0.5), EquatableArray.Create(0.5, 0.5, 0.5));

    /// <summary>ImageNet statistics, used with DeiT backbones.</summary>
    public static NormalizationSpec ImageNet { get; } = new("imagenet", EquatableArray.Create(0.485, 0.456, 0.406), EquatableArray.Create(0.229, 0.224, 0.225));
}

/// <summary>Interpolation for position-embedding resizing.</summary>
public enum ResizeMode
{
    /// <summary>Bilinear, align_corners = false (the reference).</summary>
    Bilinear,
    /// <summary>Bicubic, align_corners = false (mmsegmentation, timm).</summary>
    Bicubic,
}
