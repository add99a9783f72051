using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using Segmenter.Inference;
using Segmenter.Inference.Imaging;
using Segmenter.Reports;
using Segmenter.Spec;
using Segmenter.Training.Data;
using Segmenter.Training.Evaluation;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter eval (&lt;model&gt; --checkpoint F | --onnx model.onnx [--provider P]) --data DIR --dataset L [--mode whole|slide|multiscale] [--json]</c>.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "The dataset folder.", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "ade20k, cityscapes, pascal-context or folder.", Required = true };
        var split = new Option<string>("--split") { Description = "The split to evaluate.", DefaultValueFactory = _ => "val" };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON." };
        var report = new Option<string?>("--report") { Description = "Also write an HTML report to this folder (opens offline): metrics, per-class IoU, confusion, best and worst images." };
        var inference = new InferenceChoice();
        var onnx = new OnnxRuntimeOptions();
        var precision = new PrecisionOption();
        var command = new Command("eval", "Evaluate a model (or, with --onnx, an exported file in ONNX Runtime) on a dataset split: aAcc, mIoU, mAcc and per-class IoU/Acc.")
        {
            data, dataset, split, json, report,
        };
        model.AddTo(command);
        inference.AddTo(command);
        onnx.AddTo(command);
        precision.AddTo(command);
        model.Model.Arity = ArgumentArity.ZeroOrOne;
        command.SetAction(result =>
        {
            var set = DatasetReader.Open(DatasetLayouts.Parse(result.GetValue(dataset)!), result.GetValue(data)!, result.GetValue(split)!);
            var reportFolder = result.GetValue(report);
            if (reportFolder is not null) EvaluationReport.CheckFolder(reportFolder);   // before the work, not after it
            var (evaluate, spec, owner) = Open(result, model, onnx, precision, console);
            using var _owner = owner;
            var options = inference.Read(result, spec);
            var clock = Stopwatch.StartNew();
            SegmentationMetrics metrics;
            using (var progress = new ProgressLine(console.Err, "evaluating", set.Count, "images"))
            {
                var pages = reportFolder is null ? null : new EvaluationReport(set);
                metrics = evaluate(set, options, (done, _) => progress.Report(done), pages is null ? null : pages.Observe);
                if (pages is not null)
                {
                    var backend = result.GetValue(onnx.File) is { } file ? $"{Path.GetFileName(file)} in ONNX Runtime ({result.GetValue(onnx.Provider)})" : "TorchSharp";
                    var page = pages.Write(reportFolder!, metrics, $"{spec.Name} on {set.Split}: {options.Mode.ToString().ToLowerInvariant()} inference, {backend}");
                    console.Err.WriteLine($"report written to {page}");
                }
            }
            if (result.GetValue(json))
            {
                var node = MetricsTable.Json(metrics);
                node["model"] = spec.Name;
                node["backend"] = result.GetValue(onnx.File) is null ? "torchsharp" : $"onnxruntime ({result.GetValue(onnx.Provider)})";
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

    /// <summary>How to evaluate: the model on its device or, with --onnx, the exported file in ONNX Runtime; the spec; what to dispose.</summary>
    private static (Func<SegmentationDataset, InferenceOptions, Action<int, int>, Action<int, LabelMap, LabelMap>?, SegmentationMetrics> Evaluate, SegmenterSpec Spec, IDisposable Owner) Open(
        ParseResult result, ModelOptions model, OnnxRuntimeOptions onnx, PrecisionOption precision, CliConsole console)
    {
        if (result.GetValue(onnx.File) is not null)
        {
            var (forward, spec, owner) = onnx.Open(result, model, console);
            return ((set, options, progress, observe) => DatasetEvaluation.Evaluate(forward, spec, set, options, progress, observe), spec, owner);
        }
        onnx.RefuseWithoutFile(result);
        if (string.IsNullOrEmpty(result.GetValue(model.Model)))
            throw new ArgumentException("give a model with --checkpoint, or --onnx model.onnx");
        var (network, device) = model.Build(result, console, checkpointRequired: true);
        precision.Apply(result, console, network);
        return ((set, options, progress, observe) => DatasetEvaluation.Evaluate(network, set, options, device, progress, observe), network.Specification, network);
    }
}
