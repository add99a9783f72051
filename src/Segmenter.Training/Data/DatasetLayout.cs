using System;

namespace Segmenter.Training.Data;

/// <summary>The on-disk layouts datasets come in.</summary>
public enum DatasetLayout
{
    /// <summary>ADEChallengeData2016/images|annotations/training|validation; label 0 is "other" (ignored), k → k − 1.</summary>
    Ade20k,
    /// <summary>leftImg8bit/&lt;split&gt;/&lt;city&gt;/*_leftImg8bit.png with gtFine/…/*_gtFine_labelTrainIds.png (19 train ids, 255 ignore).</summary>
    Cityscapes,
    /// <summary>VOC2010: JPEGImages, SegmentationClassContext, ImageSets/SegmentationContext/train|val.txt (60 classes).</summary>
    PascalContext,
    /// <summary>A plain folder: images/[split/], labels/[split/] with matching names, and classes.txt (one name per line).</summary>
    Folder,
}

/// <summary>Parsing layout names as the CLI takes them.</summary>
public static class DatasetLayouts
{
    /// <summary>ade20k, cityscapes, pascal-context or folder.</summary>
    public static DatasetLayout Parse(string name) => name.Trim().ToLowerInvariant().Replace('_', '-') switch
    {
        "ade20k" or "ade" => DatasetLayout.Ade20k,
        "cityscapes" => DatasetLayout.Cityscapes,
        "pascal-context" or "pascalcontext" or "pascal" => DatasetLayout.PascalContext,
        "folder" or "custom" => DatasetLayout.Folder,
        _ => throw new ArgumentException($"unknown dataset layout '{name}': use ade20k, cityscapes, pascal-context or folder"),
    };

    /// <summary>The CLI name of a layout.</summary>
    public static string Name(DatasetLayout layout) => layout switch
    {
        DatasetLayout.Ade20k => "ade20k",
        DatasetLayout.Cityscapes => "cityscapes",
        DatasetLayout.PascalContext => "pascal-context",
        _ => "folder",
    };
}
