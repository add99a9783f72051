using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Runtime;
using Segmenter.Inference.Imaging;

namespace Segmenter.Training.Data;

/// <summary>Writes synthetic scenes to disk in any of the supported dataset layouts.</summary>
public static class SyntheticDatasetWriter
{
    /// <summary>The largest image side a synthetic scene may have.</summary>
    public const int MaximumSize = 4096;

    /// <summary>
    /// Writes <paramref name="trainCount"/> training and <paramref name="valCount"/> validation scenes under
    /// <paramref name="root"/> in <paramref name="layout"/>. Labels are grey PNGs, or palette PNGs where the
    /// layout uses them (Pascal Context) or <paramref name="paletteLabels"/> asks for them. <paramref name="root"/> must be new
    /// or empty: scenes are never mixed into an existing dataset. For a layout that fixes its classes (ADE20K, Cityscapes,
    /// Pascal Context), <see cref="SceneOptions.Classes"/> is how many of them (the first) the scenes use.
    /// <paramref name="onScene"/> is told the number of scenes written after each.
    /// </summary>
    public static void Write(string root, DatasetLayout layout, int trainCount, int valCount, SceneOptions options, bool paletteLabels = false,
        Action<int>? onScene = null)
    {
        int maximum = DatasetLayouts.FixedClasses(layout) ?? 255;
        if (options.Classes > maximum)
            throw new ArgumentException($"the {DatasetLayouts.Name(layout)} layout has {maximum} classes; synthetic scenes with {options.Classes} classes do not fit");
        if (options.Classes < 2) throw new ArgumentException($"--classes {options.Classes}: scenes need the background and at least one other class");
        if (trainCount < 1 || valCount < 0) throw new ArgumentException($"--train {trainCount} and --val {valCount}: at least 1 training image, and 0 or more validation images");
        if (options.MinSize < 8 || options.MaxSize > MaximumSize || options.MinSize > options.MaxSize)
            throw new ArgumentException($"--min-size {options.MinSize} and --max-size {options.MaxSize}: image sides between 8 and {MaximumSize}, the smallest not above the largest");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new IOException($"{root} exists and is not empty: writing scenes into it would mix them with what is there; choose a new folder, or remove this one first");
        Directory.CreateDirectory(root);
        var splits = new[] { ("train", trainCount, 0), ("val", valCount, 1_000_000) };
        var lists = new Dictionary<string, List<string>>();
        int written = 0;

        foreach (var (split, count, offset) in splits)
        {
            lists[split] = new List<string>();
            for (int i = 0; i < count; i++)
            {
                var (image, labels) = SyntheticScenes.Generate(offset + i, options);
                switch (layout)
                {
                    case DatasetLayout.Ade20k:
                    {
                        var folder = split == "train" ? "training" : "validation";
                        var stem = $"ADE_{(split == "train" ? "train" : "val")}_{i + 1:D8}";
                        var baseDirectory = Path.Combine(root, "ADEChallengeData2016");
                        ImageFiles.WriteJpeg(Ensure(Path.Combine(baseDirectory, "images", folder, stem + ".jpg")), image);
                        // ADE20K stores class k as k + 1 and 0 as "other": mark a thin border as "other".
                        var stored = labels.Labels.Select((value, p) => IsBorder(p, labels.Width, labels.Height) ? (byte)0 : (byte)(value + 1)).ToArray();
                        WriteLabels(Path.Combine(baseDirectory, "annotations", folder, stem + ".png"), new LabelMap(labels.Width, labels.Height, stored), paletteLabels);
                        break;
                    }
                    case DatasetLayout.Cityscapes:
                    {
                        var city = split == "train" ? (i % 2 == 0 ? "aachen" : "bochum") : "frankfurt";
                        var stem = $"{city}_{i / 2:D6}_{i:D6}";
                        ImageFiles.WritePng(Ensure(Path.Combine(root, "leftImg8bit", split, city, stem + "_leftImg8bit.png")), image);
                        var stored = labels.Labels.Select((value, p) => IsBorder(p, labels.Width, labels.Height) ? LabelMap.Ignore : value).ToArray();
                        WriteLabels(Path.Combine(root, "gtFine", split, city, stem + "_gtFine_labelTrainIds.png"), new LabelMap(labels.Width, labels.Height, stored), paletteLabels);
                        break;
                    }
                    case DatasetLayout.PascalContext:
                    {
                        var stem = $"2008_{(split == "train" ? 0 : 500_000) + i:D6}";
                        var baseDirectory = Path.Combine(root, "VOC2010");
                        ImageFiles.WriteJpeg(Ensure(Path.Combine(baseDirectory, "JPEGImages", stem + ".jpg")), image);
                        WriteLabels(Path.Combine(baseDirectory, "SegmentationClassContext", stem + ".png"), labels, palette: true);
                        lists[split].Add(stem);
                        break;
                    }
                    default:
                    {
                        var stem = $"{i:D5}";
                        ImageFiles.WritePng(Ensure(Path.Combine(root, "images", split, stem + ".png")), image);
                        WriteLabels(Path.Combine(root, "labels", split, stem + ".png"), labels, paletteLabels);
                        break;
                    }
                }
                onScene?.Invoke(++written);
            }
        }

        if (layout == DatasetLayout.PascalContext)
        {
            foreach (var (split, names) in lists)
                AtomicFile.WriteText(Ensure(Path.Combine(root, "VOC2010", "ImageSets", "SegmentationContext", split + ".txt")), string.Join("\n", names) + "\n");
        }
        if (layout == DatasetLayout.Folder)
            AtomicFile.WriteText(Path.Combine(root, "classes.txt"), string.Join("\n", SyntheticScenes.ClassNames(options.Classes)) + "\n");
    }

    private static void WriteLabels(string path, LabelMap labels, bool palette)
    {
        Ensure(path);
        if (palette) IndexedPng.Write(path, labels, Palettes.Voc);
        else ImageFiles.WriteLabelPng(path, labels);
    }

    private static bool IsBorder(int pixel, int width, int height)
    {
        int x = pixel % width, y = pixel / width;
        return x < 2 || y < 2 || x >= width - 2 || y >= height - 2;
    }

    private static string Ensure(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
