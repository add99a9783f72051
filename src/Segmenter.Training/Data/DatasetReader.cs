using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Spec;
using Segmenter.Inference.Imaging;

namespace Segmenter.Training.Data;

/// <summary>Opens datasets in the layouts people have on disk, pairing images with labels and saying what is wrong where.</summary>
public static class DatasetReader
{
    private static readonly string[] ImageExtensions = { ".jpg", ".jpeg", ".png", ".bmp", ".webp" };

    /// <summary>
    /// Opens split <paramref name="split"/> (train or val; the layout's own names — training, validation — also work)
    /// of the dataset at <paramref name="root"/>.
    /// </summary>
    public static SegmentationDataset Open(DatasetLayout layout, string root, string split)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"dataset folder '{root}' does not exist");
        var dataset = layout switch
        {
            DatasetLayout.Ade20k => OpenAde20k(root, split),
            DatasetLayout.Cityscapes => OpenCityscapes(root, split),
            DatasetLayout.PascalContext => OpenPascalContext(root, split),
            _ => OpenFolder(root, split),
        };
        if (dataset.Count == 0)
            throw new DatasetException($"{root}: no {split} samples found in the {DatasetLayouts.Name(layout)} layout, which expects " + layout switch
            {
                DatasetLayout.Ade20k => $"images/<split>/*.jpg with annotations/<split>/*.png of the same names (split: training or validation)",
                DatasetLayout.Cityscapes => $"leftImg8bit/{split}/<city>/*_leftImg8bit.png with gtFine/{split}/<city>/*_gtFine_labelTrainIds.png (or *_gtFine_labelIds.png)",
                DatasetLayout.PascalContext => $"ImageSets/SegmentationContext/{split}.txt naming JPEGImages/<id>.jpg with SegmentationClassContext/<id>.png",
                _ => $"images/{split}/ (or images/) with image files and labels/{split}/ (or labels/) with PNGs of the same names",
            });
        return dataset;
    }

    private static SegmentationDataset OpenAde20k(string root, string split)
    {
        var baseDirectory = Directory.Exists(Path.Combine(root, "ADEChallengeData2016")) ? Path.Combine(root, "ADEChallengeData2016") : root;
        var folder = split.ToLowerInvariant() switch { "train" or "training" => "training", "val" or "validation" => "validation", _ => split };
        var images = Path.Combine(baseDirectory, "images", folder);
        var annotations = Path.Combine(baseDirectory, "annotations", folder);
        RequireDirectory(images, "ADE20K images (ADEChallengeData2016/images/" + folder + ")");
        RequireDirectory(annotations, "ADE20K annotations (ADEChallengeData2016/annotations/" + folder + ")");
        var samples = Pair(ImagesIn(images), image => Path.Combine(annotations, Path.GetFileNameWithoutExtension(image) + ".png"));
        // Reduce zero label: 0 ("other") is ignored, every other label k becomes k − 1.
        return new SegmentationDataset(DatasetLayout.Ade20k, root, folder, samples, DatasetPresets.Ade20k.ClassNames.ToList(),
            value => value == 0 ? LabelMap.Ignore : (byte)(value - 1));
    }

    private static SegmentationDataset OpenCityscapes(string root, string split)
    {
        var images = Path.Combine(root, "leftImg8bit", split);
        var labels = Path.Combine(root, "gtFine", split);
        RequireDirectory(images, $"Cityscapes images (leftImg8bit/{split})");
        RequireDirectory(labels, $"Cityscapes labels (gtFine/{split})");
        const string suffix = "_leftImg8bit.png";
        var files = Directory.GetFiles(images, "*" + suffix, SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToList();
        string LabelFor(string image, string kind)
        {
            var relative = Path.GetRelativePath(images, image);
            return Path.Combine(labels, relative.Substring(0, relative.Length - suffix.Length) + "_gtFine_" + kind + ".png");
        }
        // The train ids (19 classes) as mmsegmentation's conversion writes them; failing those, the label ids of the
        // download itself (gtFine_trainvaltest.zip), mapped to train ids here.
        bool labelIds = !files.All(f => File.Exists(LabelFor(f, "labelTrainIds"))) && files.All(f => File.Exists(LabelFor(f, "labelIds")));
        var samples = Pair(files, image => LabelFor(image, labelIds ? "labelIds" : "labelTrainIds"), "or a _gtFine_labelIds.png beside every image");
        return new SegmentationDataset(DatasetLayout.Cityscapes, root, split, samples, DatasetPresets.Cityscapes.ClassNames.ToList(),
            labelIds ? CityscapesTrainId : value => value);
    }

    /// <summary>
    /// Cityscapes' label id → train id (cityscapesScripts' label table): the 19 evaluated classes, and 255 for the other
    /// ids (0–33). A value that is no label id keeps its value, so that it is refused as a class it cannot be.
    /// </summary>
    private static byte CityscapesTrainId(byte labelId)
    {
        int index = Array.IndexOf(CityscapesEvaluatedIds, labelId);
        return index >= 0 ? (byte)index : labelId <= 33 ? LabelMap.Ignore : labelId;
    }

    /// <summary>The label ids of Cityscapes' 19 evaluated classes, in train-id order (road, sidewalk, … bicycle).</summary>
    private static readonly byte[] CityscapesEvaluatedIds = { 7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33 };

    private static SegmentationDataset OpenPascalContext(string root, string split)
    {
        var baseDirectory = new[] { Path.Combine(root, "VOCdevkit", "VOC2010"), Path.Combine(root, "VOC2010"), root }.First(Directory.Exists);
        var list = Path.Combine(baseDirectory, "ImageSets", "SegmentationContext", split + ".txt");
        if (!File.Exists(list))
            throw new DatasetException($"{list}: the Pascal Context split list is missing (expected VOC2010/ImageSets/SegmentationContext/{split}.txt)");
        var samples = new List<SegmentationSample>();
        foreach (var line in TextLines(list).Select(l => l.Trim()).Where(l => l.Length > 0))
        {
            var image = Path.Combine(baseDirectory, "JPEGImages", line + ".jpg");
            var label = Path.Combine(baseDirectory, "SegmentationClassContext", line + ".png");
            if (!File.Exists(image)) throw new DatasetException($"{list}: lists '{line}' but {image} does not exist");
            if (!File.Exists(label)) throw new DatasetException($"{image}: no label file {label}");
            samples.Add(new SegmentationSample(image, label));
        }
        return new SegmentationDataset(DatasetLayout.PascalContext, root, split, samples, DatasetPresets.PascalContext.ClassNames.ToList(), value => value);
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The lines of a UTF-8 text file; a <see cref="DatasetException"/> naming the file and the first byte that is not UTF-8 (never a silent U+FFFD in a class name).</summary>
    private static string[] TextLines(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            return StrictUtf8.GetString(bytes)
                .TrimStart('\uFEFF').Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        }
        catch (System.Text.DecoderFallbackException e)
        {
            int at = e.Index >= 0 ? e.Index : 0;
            throw new DatasetException($"{path}: not UTF-8 text (byte 0x{(at < bytes.Length ? bytes[at] : 0):x2} at offset {at}); save it as UTF-8");
        }
    }

    private static SegmentationDataset OpenFolder(string root, string split)
    {
        var classesFile = Path.Combine(root, "classes.txt");
        if (!File.Exists(classesFile))
            throw new DatasetException($"{classesFile}: a folder dataset needs classes.txt, one class name per line, in label order");
        var classes = TextLines(classesFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (classes.Count == 0 || classes.Count > 255)
            throw new DatasetException($"{classesFile}: needs between 1 and 255 class names, found {classes.Count}");

        var images = Path.Combine(root, "images", split);
        var labels = Path.Combine(root, "labels", split);
        if (!Directory.Exists(images))
        {
            images = Path.Combine(root, "images");
            labels = Path.Combine(root, "labels");
        }
        RequireDirectory(images, $"images (images/{split} or images/)");
        RequireDirectory(labels, $"labels (labels/{split} or labels/)");
        var samples = Pair(ImagesIn(images), image => Path.Combine(labels, Path.GetFileNameWithoutExtension(image) + ".png"));
        return new SegmentationDataset(DatasetLayout.Folder, root, split, samples, classes, value => value);
    }

    private static IEnumerable<string> ImagesIn(string directory) =>
        Directory.GetFiles(directory)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal);

    private static List<SegmentationSample> Pair(IEnumerable<string> images, Func<string, string> labelFor, string? alternative = null)
    {
        var samples = new List<SegmentationSample>();
        var imageOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            var label = labelFor(image);
            if (!File.Exists(label)) throw new DatasetException($"{image}: no label file (expected {label}{(alternative is null ? "" : ", " + alternative)})");
            if (!imageOf.TryAdd(label, image))
                throw new DatasetException($"{image} and {imageOf[label]} both pair with {label}: one image per name (keep one of the two), " +
                                           "or each would be trained and scored against the same label");
            samples.Add(new SegmentationSample(image, label));
        }
        return samples;
    }

    private static void RequireDirectory(string path, string what)
    {
        if (!Directory.Exists(path)) throw new DatasetException($"{path}: missing folder of {what}");
    }
}
