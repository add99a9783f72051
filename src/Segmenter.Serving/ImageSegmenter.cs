using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Segmenter.Inference;
using Segmenter.Inference.Imaging;
using Segmenter.Runtime;
using Segmenter.Serving.Batching;
using Segmenter.Serving.Protocol;
using static TorchSharp.torch;

namespace Segmenter.Serving;

/// <summary>One class in a segmented image: its index, name, palette colour and share of the pixels.</summary>
public sealed record ClassShare(int Index, string Name, (byte R, byte G, byte B) Color, long Pixels, double Share);

/// <summary>A segmented image: the decoded image, its labels, and the classes present, most pixels first.</summary>
public sealed record Segmentation(RgbImage Image, LabelMap Labels, IReadOnlyList<ClassShare> Classes)
{
    /// <summary>The label map as a palette PNG (the class index is the palette index), as <c>predict</c> writes it.</summary>
    public byte[] LabelPng() => IndexedPng.Encode(Labels, Palettes.Voc);

    /// <summary>The image with the labels blended over it and a legend of the classes present, as <c>predict</c>'s overlay.</summary>
    public byte[] OverlayPng(bool legend = true)
    {
        var overlay = Overlays.Blend(Image, Labels, Palettes.Voc);
        if (legend) overlay = Annotations.WithLegend(overlay, Classes.OrderBy(c => c.Index).Select(c => (c.Name, c.Color)).ToList());
        return ImageFiles.EncodePng(overlay);
    }
}

/// <summary>
/// Segments an uploaded image as <c>predict</c> does (whole image or sliding window at the model's training size), with every
/// model run going through the batcher, so windows of concurrent requests share batches. Runs synchronously: call it on a
/// thread of its own.
/// </summary>
public sealed class ImageSegmenter
{
    private readonly ModelDescription model;
    private readonly DynamicBatcher batcher;
    private readonly BatchingOptions batching;
    private readonly long maxImagePixels;

    /// <summary>
    /// Segments for <paramref name="model"/> through <paramref name="batcher"/>; images of up to <paramref name="maxImagePixels"/>
    /// are decoded, and those over <see cref="BatchingOptions.MaxPixels"/> are run at a reduced size (<see cref="SegmentationInference.RunSize"/>).
    /// </summary>
    public ImageSegmenter(ModelDescription model, DynamicBatcher batcher, BatchingOptions batching, long maxImagePixels)
    {
        this.model = model;
        this.batcher = batcher;
        this.batching = batching;
        this.maxImagePixels = maxImagePixels;
        if (model.Classes > 256) throw new NotSupportedException($"{model.Name} has {model.Classes} classes: label images hold at most 256");
    }

    /// <summary>The sliding window's side: the model's training size (or the fixed size of a --static export).</summary>
    public int Window => model.StaticSize is { } size ? Math.Min(size.Height, size.Width) : Math.Min(model.Spec.ImageHeight, model.Spec.ImageWidth);

    /// <summary>
    /// Decodes <paramref name="data"/> and segments it at its own size; an image over <see cref="BatchingOptions.MaxPixels"/>
    /// is run at <see cref="SegmentationInference.RunSize"/> and its logits are upsampled bilinearly to the image's size for the labels (never
    /// whole: <see cref="Resize.BilinearArgmax"/>), as the authors' test pipeline resizes them back. 400 for data that is
    /// not an image, or an image over the decode limit.
    /// </summary>
    public Segmentation Segment(byte[] data, InferenceMode mode, CancellationToken cancellation)
    {
        RgbImage image;
        try
        {
            image = ImageFiles.DecodeRgb(data, "the uploaded file", maxImagePixels);
        }
        catch (InvalidDataException e)
        {
            throw ProtocolException.BadRequest(e.Message + $" (--max-image-pixels {maxImagePixels:N0})");
        }
        if (mode == InferenceMode.MultiScale) throw ProtocolException.BadRequest("mode=multiscale runs 12 passes per image: the server offers mode=whole and mode=slide");
        var (height, width) = SegmentationInference.RunSize(image.Height, image.Width, batching.MaxPixels, Window);
        if (mode == InferenceMode.Whole && model.StaticSize is { } fixedSize && (height != fixedSize.Height || width != fixedSize.Width))
            throw ProtocolException.BadRequest($"this model was exported for {fixedSize.Height}×{fixedSize.Width} images only: use mode=slide, or send an image of that size");

        var options = InferenceOptions.ForWindow(mode, Window) with { WindowBatch = Math.Max(1, (int)Math.Min(batching.MaxBatch, batching.MaxPixels / ((long)Window * Window))) };
        using var scope = NewDisposeScope();
        var input = ImageTensors.ToTensor(ImageFiles.Resized(image, width, height), model.Spec.Normalization);
        var logits = SegmentationInference.Logits(images => Run(images, cancellation), input, options);
        var labels = ImageTensors.ToLabelMap(Resize.BilinearArgmax(logits, image.Height, image.Width));
        return new Segmentation(image, labels, Shares(labels));
    }

    private Tensor Run(Tensor images, CancellationToken cancellation)
    {
        using var result = batcher.RunAsync(images.contiguous(), Outputs.Logits, cancellation).GetAwaiter().GetResult();
        return result.Logits!.alias();   // a handle made here, so the caller's dispose scope frees it as any other tensor it makes
    }

    private IReadOnlyList<ClassShare> Shares(LabelMap labels)
    {
        var counts = new long[256];
        foreach (var label in labels.Labels) counts[label]++;
        double total = labels.Labels.Length;
        return Enumerable.Range(0, 256).Where(c => counts[c] > 0)
            .Select(c => new ClassShare(c, model.Spec.ClassName(c), Palettes.Voc[c], counts[c], counts[c] / total))
            .OrderByDescending(c => c.Pixels).ThenBy(c => c.Index).ToList();
    }
}
