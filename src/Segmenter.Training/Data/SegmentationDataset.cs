using System;
using System.Collections.Generic;
using System.IO;
using Segmenter.Inference.Imaging;

namespace Segmenter.Training.Data;

/// <summary>
/// A split of a segmentation dataset: the image/label pairs found on disk, the classes, and how raw
/// label values map to class indices. Samples are decoded and validated as they are loaded.
/// </summary>
public sealed class SegmentationDataset
{
    /// <summary>Stored label value → class index (255 = ignore), for all 256 values: one lookup per pixel.</summary>
    private readonly byte[] labelTable;

    internal SegmentationDataset(DatasetLayout layout, string root, string split, IReadOnlyList<SegmentationSample> samples,
        IReadOnlyList<string> classNames, Func<byte, byte> mapLabel)
    {
        Layout = layout;
        Root = root;
        Split = split;
        Samples = samples;
        ClassNames = classNames;
        labelTable = new byte[256];
        for (int value = 0; value < 256; value++) labelTable[value] = mapLabel((byte)value);
    }

    /// <summary>The layout.</summary>
    public DatasetLayout Layout { get; }

    /// <summary>The folder the dataset was opened from.</summary>
    public string Root { get; }

    /// <summary>The split (train, val, …).</summary>
    public string Split { get; }

    /// <summary>The samples, in a stable (sorted) order.</summary>
    public IReadOnlyList<SegmentationSample> Samples { get; }

    /// <summary>The class names, in label order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The number of classes.</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>The number of samples.</summary>
    public int Count => Samples.Count;

    /// <summary>
    /// Decodes sample <paramref name="index"/>: the image, and its labels mapped to class indices
    /// (255 = ignore). Throws a <see cref="DatasetException"/> naming the file for an unreadable file,
    /// an image and label of different sizes, or a label value that is not a class.
    /// </summary>
    public (RgbImage Image, LabelMap Labels) Load(int index)
    {
        var sample = Samples[index];
        // The sizes from the headers first: a mismatched pair is refused before either is decoded.
        var (width, height) = Read(sample.ImagePath, "image", ImageFiles.ReadSize);
        var (labelWidth, labelHeight) = Read(sample.LabelPath, "label image", ImageFiles.ReadSize);
        if (width != labelWidth || height != labelHeight)
            throw new DatasetException($"{sample.LabelPath}: the labels are {labelWidth}×{labelHeight} but the image {sample.ImagePath} is {width}×{height}");
        var image = Read(sample.ImagePath, "image", ImageFiles.ReadRgb);
        var labels = Read(sample.LabelPath, "label image", ImageFiles.ReadLabels);

        var mapped = labels.Labels;
        for (int i = 0; i < mapped.Length; i++)
        {
            var value = labelTable[mapped[i]];
            if (value != LabelMap.Ignore && value >= NumClasses)
            {
                var meaning = value == mapped[i] ? "" : $" (class {value} in the {DatasetLayouts.Name(Layout)} layout's numbering)";
                throw new DatasetException($"{sample.LabelPath}: label value {mapped[i]}{meaning} at pixel ({i % labels.Width}, {i / labels.Width}) is not one of the " +
                                           $"{NumClasses} classes (0–{NumClasses - 1}) or ignore (255)");
            }
            mapped[i] = value;
        }
        return (image, labels);
    }

    private static T Read<T>(string path, string what, Func<string, T> read)
    {
        try
        {
            return read(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DatasetException($"{path}: unreadable {what} ({e.Message})", e);
        }
    }
}
