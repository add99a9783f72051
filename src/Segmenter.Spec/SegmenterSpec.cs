namespace Segmenter.Spec;

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
