using System;
using Segmenter.Runtime;
using Segmenter.Spec;
using static TorchSharp.torch;

namespace Segmenter.Inference;

/// <summary>
/// The attention the paper's figures show: of the class token to the patches (an encoder layer), or of a
/// class embedding to the patches (a mask-decoder layer), one row of patch weights per head.
/// </summary>
public static class AttentionMaps
{
    /// <summary>
    /// The rows [heads, gridHeight · gridWidth] of layer <paramref name="layer"/> for the first image of
    /// <paramref name="images"/> (normalised, [B, 3, H, W], not padded): the class token's attention in an
    /// encoder layer, or class <paramref name="classIndex"/>'s embedding's in a decoder layer.
    /// </summary>
    public static AttentionRows Rows(SegmenterModel model, Tensor images, int layer, bool decoder, int classIndex = 0)
    {
        var spec = model.Specification;
        int gridHeight = (int)(images.shape[2] / spec.PatchSize), gridWidth = (int)(images.shape[3] / spec.PatchSize);
        if (gridHeight == 0 || gridWidth == 0)
            throw new ArgumentException($"the image is {images.shape[3]}×{images.shape[2]}, smaller than one {spec.PatchSize}×{spec.PatchSize} patch");
        if (decoder && (classIndex < 0 || classIndex >= spec.NumClasses))
            throw new ArgumentException($"class {classIndex} is not one of {spec.Name}'s {spec.NumClasses} classes");
        int patches = gridHeight * gridWidth;
        using var scope = NewDisposeScope();   // the whole [B, h, T, T] attention is freed here, not by the garbage collector
        var attention = decoder ? model.DecoderAttention(images, layer) : model.EncoderAttention(images, layer);
        int query = decoder ? patches + classIndex : 0;
        int firstKey = decoder ? 0 : spec.ExtraTokens;
        var rows = attention[0, TensorIndex.Colon, query, TensorIndex.Slice(firstKey, firstKey + patches)].cpu().contiguous();   // [heads, N]
        return new AttentionRows(rows.MoveToOuterDisposeScope(), gridHeight, gridWidth);
    }

    /// <summary>The class named by <paramref name="requested"/>: an index, or a class name (case-insensitive).</summary>
    public static int ParseClass(string requested, SegmenterSpec spec)
    {
        if (int.TryParse(requested, out var number) && number >= 0 && number < spec.NumClasses) return number;
        for (int i = 0; i < spec.NumClasses; i++)
        {
            if (string.Equals(spec.ClassName(i), requested, StringComparison.OrdinalIgnoreCase)) return i;
        }
        throw new ArgumentException($"class '{requested}' is neither a class index below {spec.NumClasses} nor a class name of {spec.Name}");
    }

    /// <summary>The class the model predicts for the most pixels of <paramref name="images"/>.</summary>
    public static int MostPredictedClass(SegmenterModel model, Tensor images)
    {
        using var scope = NewDisposeScope();
        var counts = model.Predict(images).argmax(1).flatten().bincount(null, model.Specification.NumClasses);
        return (int)counts.argmax().item<long>();
    }
}
