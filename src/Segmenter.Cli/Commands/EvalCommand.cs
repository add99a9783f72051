using System.CommandLine;
using System.Diagnostics;
using Segmenter.Training.Data;
using Segmenter.Training.Evaluation;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter eval &lt;model&gt; --checkpoint F --data DIR --dataset L [--mode whole|slide|multiscale] [--json]</c>.</summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "The dataset folder.", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "ade20k, cityscapes, pascal-context or folder.", Required = true };
        var split = new Option<string>("--split") { Description = "The split to evaluate.", DefaultValueFactory = _ => "val" };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON." };
        var inference = new InferenceChoice();
        var command = new Command("eval", "Evaluate a model on a dataset split: aAcc, mIoU, mAcc and per-class IoU/Acc.") { data, dataset, split, json };
        model.AddTo(command);
        inference.AddTo(command);
        command.SetAction(result =>
        {
            var (network, device) = model.Build(result, console, checkpointRequired: true);
            using var _network = network;
            var set = DatasetReader.Open(DatasetLayouts.Parse(result.GetValue(dataset)!), result.GetValue(data)!, result.GetValue(split)!);
            var options = inference.Read(result, network.Specification);
            var clock = Stopwatch.StartNew();
            SegmentationMetrics metrics;
            using (var progress = new ProgressLine(console.Err, "evaluating", set.Count, "images"))
                metrics = DatasetEvaluation.Evaluate(network, set, options, device, onImage: (done, _) => progress.Report(done));
            if (result.GetValue(json))
            {
                var node = MetricsTable.Json(metrics);
                node["model"] = network.Specification.Name;
                node["images"] = set.Count;
                node["mode"] = options.Mode.ToString().ToLowerInvariant();
                console.Out.WriteLine(Json.Write(node));
            }
            else
            {
                MetricsTable.Write(console, metrics);
                console.Out.WriteLine($"{set.Count} images of {set.Root} ({set.Split}), {options.Mode.ToString().ToLowerInvariant()} inference, {clock.Elapsed.TotalSeconds:F1} s");
            }
            return 0;
        });
        return command;
    }
}
