using System;
using System.Collections.Generic;
using System.Linq;
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

    /// <summary>
    /// The class whose decoder attention to show when none is asked for: of the classes the model predicts in
    /// <paramref name="images"/>, the one with the most pixels among those covering less than half of them — so not the
    /// background or sky that fills the picture, but its main object. If one class covers everything, that class.
    /// </summary>
    public static int MostInformativeClass(SegmenterModel model, Tensor images)
    {
        using var scope = NewDisposeScope();
        var counts = model.Predict(images).argmax(1).flatten().bincount(null, model.Specification.NumClasses).cpu().data<long>().ToArray();
        return MostInformativeClass(counts);
    }

    /// <summary>The same choice from per-class pixel counts.</summary>
    public static int MostInformativeClass(IReadOnlyList<long> counts)
    {
        long total = counts.Sum();
        var order = Enumerable.Range(0, counts.Count).Where(c => counts[c] > 0).OrderByDescending(c => counts[c]).ThenBy(c => c).ToList();
        if (order.Count == 0) return 0;
        foreach (var c in order)
            if (2 * counts[c] < total) return c;
        return order[0];
    }
}
