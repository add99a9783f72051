using System;
using System.CommandLine;
using System.Diagnostics;
using Segmenter.Training.Data;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter make-dataset --out DIR [--layout L] [--train N] [--val N] [--classes K] …</c>: synthetic scenes with exact labels.</summary>
internal static class MakeDatasetCommand
{
    public static Command Create(CliConsole console)
    {
        var output = new Option<string>("--out") { Description = "The dataset folder to write.", Required = true };
        var layout = new Option<string>("--layout") { Description = "ade20k, cityscapes, pascal-context or folder.", DefaultValueFactory = _ => "folder" };
        var train = new Option<int>("--train") { Description = "Training images.", DefaultValueFactory = _ => 200 };
        var val = new Option<int>("--val") { Description = "Validation images.", DefaultValueFactory = _ => 20 };
        var classes = new Option<int?>("--classes")
        {
            Description = "Classes in the dataset, background included (default: 5 for folder; ade20k, cityscapes and pascal-context have 150, 19 and 60, which their files fix).",
        };
        var minSize = new Option<int>("--min-size") { Description = "Smallest image side.", DefaultValueFactory = _ => 96 };
        var maxSize = new Option<int>("--max-size") { Description = "Largest image side.", DefaultValueFactory = _ => 192 };
        var seed = new Option<int>("--seed") { Description = "The scenes are a function of the seed.", DefaultValueFactory = _ => 0 };
        var palette = new Option<bool>("--palette") { Description = "Store labels as palette (indexed) PNGs instead of greyscale." };
        var command = new Command("make-dataset", "Write a synthetic segmentation dataset (shapes and textures with exact labels) in a real dataset layout.")
        {
            output, layout, train, val, classes, minSize, maxSize, seed, palette,
        };
        command.SetAction(result =>
        {
            var clock = Stopwatch.StartNew();
            var chosen = DatasetLayouts.Parse(result.GetValue(layout)!);
            int count = Classes(chosen, result.GetValue(classes));
            var options = new SceneOptions(count, result.GetValue(minSize), result.GetValue(maxSize), result.GetValue(seed));
            using (var progress = new ProgressLine(console.Err, "writing", (long)result.GetValue(train) + Math.Max(0, result.GetValue(val)), "scenes"))
                SyntheticDatasetWriter.Write(result.GetValue(output)!, chosen, result.GetValue(train), result.GetValue(val), options, result.GetValue(palette),
                    onScene: done => progress.Report(done));
            console.Out.WriteLine($"wrote {result.GetValue(train)} training and {result.GetValue(val)} validation scenes ({options.Classes} classes) " +
                                  $"in the {DatasetLayouts.Name(chosen)} layout to {result.GetValue(output)} ({clock.Elapsed.TotalSeconds:F1} s)");
            return 0;
        });
        return command;
    }

    /// <summary>
    /// --classes is the dataset's class count for every layout: a layout whose files fix it (ADE20K 150, Cityscapes 19,
    /// Pascal Context 60) takes no other, so that a model with that many classes trains on what is written.
    /// </summary>
    private static int Classes(DatasetLayout layout, int? asked)
    {
        if (DatasetLayouts.FixedClasses(layout) is not { } fixedCount) return asked ?? 5;
        if (asked is { } value && value != fixedCount)
            throw new ArgumentException($"--classes {value}: the {DatasetLayouts.Name(layout)} layout has {fixedCount} classes, which its files fix (a model for it predicts {fixedCount}); " +
                                        $"leave out --classes, or write a {value}-class dataset with --layout folder");
        return fixedCount;
    }
}
