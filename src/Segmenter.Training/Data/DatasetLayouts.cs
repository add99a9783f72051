using System;

namespace Segmenter.Training.Data;

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

    /// <summary>The number of classes a layout's files define (ADE20K 150, Cityscapes 19, Pascal Context 60), or null for the folder layout, where classes.txt says.</summary>
    public static int? FixedClasses(DatasetLayout layout) => layout switch
    {
        DatasetLayout.Ade20k => 150,
        DatasetLayout.Cityscapes => 19,
        DatasetLayout.PascalContext => 60,
        _ => null,
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
