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
        var classes = new Option<int>("--classes") { Description = "Classes, background included.", DefaultValueFactory = _ => 5 };
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
            var options = new SceneOptions(result.GetValue(classes), result.GetValue(minSize), result.GetValue(maxSize), result.GetValue(seed));
            SyntheticDatasetWriter.Write(result.GetValue(output)!, chosen, result.GetValue(train), result.GetValue(val), options, result.GetValue(palette));
            console.Out.WriteLine($"wrote {result.GetValue(train)} training and {result.GetValue(val)} validation scenes ({options.Classes} classes) " +
                                  $"in the {DatasetLayouts.Name(chosen)} layout to {result.GetValue(output)} ({clock.Elapsed.TotalSeconds:F1} s)");
            return 0;
        });
        return command;
    }
}
