using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using Segmenter.Reports;
using Segmenter.Runtime;
using Segmenter.Training;
using Segmenter.Training.Data;
using Segmenter.Inference;
using Spectre.Console;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter train &lt;model&gt; --data DIR --dataset L [--iters --batch --lr --crop --eval-every --out DIR --resume --init F --device --seed]</c>.
/// </summary>
internal static class TrainCommand
{
    private static string Invariant(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "A zoo model, path/to/file.seg[:Model], or a reference variant.yml." };
        var data = new Option<string>("--data") { Description = "The dataset folder.", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "ade20k, cityscapes, pascal-context or folder.", Required = true };
        var iterations = new Option<int>("--iters") { Description = "Optimiser steps.", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 8 };
        var accumulate = new Option<int>("--accumulate") { Description = "Gradient accumulation: forward/backward passes per step.", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr") { Description = "Base learning rate of the poly schedule.", DefaultValueFactory = _ => 1e-3 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "SGD weight decay.", DefaultValueFactory = _ => 0 };
        var crop = new Option<int?>("--crop") { Description = "Training crop size (default: the model's image size)." };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate on the validation split every N steps (0: at the end only).", DefaultValueFactory = _ => 0 };
        var evalMode = new Option<string>("--eval-mode") { Description = "whole, slide or multiscale.", DefaultValueFactory = _ => InferenceOptions.DefaultMode };
        var logEvery = new Option<int>("--log-every") { Description = "A metrics.jsonl line every N steps (and at the last).", DefaultValueFactory = _ => 1 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write last.safetensors every N steps.", DefaultValueFactory = _ => 500 };
        var output = new Option<string>("--out") { Description = "Folder for the run: checkpoints (last, best), config.json, metrics.jsonl, curves.png and TensorBoard logs.", DefaultValueFactory = _ => "runs/segmenter" };
        var resume = new Option<string?>("--resume") { Description = "Continue from a training checkpoint (default: OUT/last.safetensors).", Arity = ArgumentArity.ZeroOrOne };
        var init = new Option<string?>("--init") { Description = "Initial weights: ImageNet/timm ViT or DeiT weights (the decoder stays at its initialisation), or any checkpoint." };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => Devices.Default };
        var seed = new Option<int>("--seed") { Description = "Seed of the initialisation, data order, augmentation and dropout.", DefaultValueFactory = _ => 0 };
        var workers = new Option<int>("--workers") { Description = "Background data workers.", DefaultValueFactory = _ => 2 };
        var shards = new Option<int>("--shards") { Description = "TorchSharp on a CPU: split each batch across this many threads, one shard per thread (0: one per core, up to the batch; 1: the batch in one pass). The result is the same to float rounding.", DefaultValueFactory = _ => 0 };
        var skipBad = new Option<bool>("--skip-bad-samples") { Description = "Skip unreadable samples (counted and reported) instead of stopping." };
        var trainSplit = new Option<string>("--train-split") { Description = "The training split.", DefaultValueFactory = _ => "train" };
        var valSplit = new Option<string?>("--val-split") { Description = "The validation split (\"none\" to skip evaluation).", DefaultValueFactory = _ => "val" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Start afresh even if --out holds a run's checkpoints (they are replaced); without it such a run is refused." };
        var engine = new Option<string>("--engine") { Description = "torchsharp (this process, one device) or torchrun (PyTorch's distributed engine: DDP/FSDP, mixed precision, several GPUs and machines).", DefaultValueFactory = _ => "torchsharp" };
        var torchrun = new TorchrunOptions();
        var precision = new PrecisionOption();
        var command = new Command("train", "Train a model with the paper's recipe (SGD, poly schedule, mmsegmentation augmentation), in TorchSharp or on PyTorch with torchrun.")
        {
            model, data, dataset, iterations, batch, accumulate, lr, weightDecay, crop, evalEvery, evalMode, logEvery, checkpointEvery, output, resume, init, device, seed,
            workers, shards, skipBad, trainSplit, valSplit, overwrite, engine,
        };
        torchrun.AddTo(command);
        precision.AddTo(command);
        command.SetAction(result =>
        {
            var engineName = result.GetValue(engine)!.Trim().ToLowerInvariant();
            if (engineName is not ("torchsharp" or "torchrun"))
                throw new ArgumentException($"unknown engine '{result.GetValue(engine)}': use torchsharp or torchrun");
            // A resume continues the run: from a named checkpoint, in that checkpoint's folder unless --out says otherwise, and
            // with the run's recipe (its checkpoint's) where the command line leaves an option out.
            bool resuming = result.GetResult(resume) is not null;
            string? resumeArgument = resuming ? result.GetValue(resume) : null;
            string outputDirectory = resumeArgument is not null && result.GetResult(output) is not { Implicit: false }
                ? Path.GetDirectoryName(Path.GetFullPath(resumeArgument))!
                : result.GetValue(output)!;
            string? resumeFrom = resuming ? resumeArgument ?? Path.Combine(outputDirectory, "last.safetensors") : null;
            // The torchrun engine's job may run where the checkpoint is (a cluster's shared disk) rather than here: a
            // checkpoint absent here is the PyTorch engine's to find, and to read the recipe from.
            var recorded = resumeFrom is null || (engineName == "torchrun" && !File.Exists(resumeFrom)) ? null : RecordedRecipe.Read(resumeFrom);
            var pick = new ResumedRecipe(result, recorded);
            int? cropOption = pick.OptionalWhole(crop, RecordedRecipe.CropSize);
            string evalModeName = pick.Mode(evalMode, RecordedRecipe.EvaluationMode);
            var defaults = new TrainingOptions();
            // The recipe's options, checked for either engine before anything is loaded or written; the crop's default comes
            // from the spec and is set once the model is resolved.
            var recipe = new TrainingOptions
            {
                Iterations = pick.Whole(iterations, RecordedRecipe.Iterations),
                BatchSize = pick.Whole(batch, RecordedRecipe.BatchSize, fixedForRun: true),
                Accumulate = pick.Whole(accumulate, RecordedRecipe.Accumulate, fixedForRun: true),
                CropSize = cropOption ?? 1,
                LearningRate = pick.Real(lr, RecordedRecipe.LearningRate),
                MinimumLearningRate = pick.Recorded(RecordedRecipe.MinimumLearningRate, "--min-lr", defaults.MinimumLearningRate),
                Momentum = pick.Recorded(RecordedRecipe.Momentum, "--momentum", defaults.Momentum),
                WeightDecay = pick.Real(weightDecay, RecordedRecipe.WeightDecay),
                Seed = pick.Whole(seed, RecordedRecipe.Seed, fixedForRun: true),
                CheckpointEvery = pick.Whole(checkpointEvery, RecordedRecipe.CheckpointEvery),
                EvaluateEvery = pick.Whole(evalEvery, RecordedRecipe.EvaluateEvery),
                LogEvery = pick.Whole(logEvery, RecordedRecipe.LogEvery),
                Workers = result.GetValue(workers),
                Shards = result.GetValue(shards),
                SkipBadSamples = result.GetValue(skipBad),
                OutputDirectory = outputDirectory,
                Overwrite = result.GetValue(overwrite),
                Precision = precision.Read(result, console, onCpu: !result.GetValue(device)!.StartsWith("cuda", StringComparison.OrdinalIgnoreCase)),
            };
            recipe.Validate();
            if (engineName == "torchrun" && recipe.Shards != 0)
                throw new ArgumentException("--shards splits the TorchSharp engine's batch across threads; the torchrun engine splits it across processes (--nproc-per-node)");
            if (engineName == "torchrun" && recipe.Precision != ComputePrecision.Float32)
                throw new ArgumentException("--precision is the TorchSharp engine's; the torchrun engine takes --amp bf16 (PyTorch's autocast)");
            if (!recipe.Overwrite) Trainer.RefuseExistingRun(recipe.OutputDirectory, resumeFrom);   // again under the lock, where it counts
            if (recorded is not null && engineName != "torchrun")   // the PyTorch engine says it itself
            {
                if (pick.Taken.Count > 0) console.Out.WriteLine($"the run's recipe, from {resumeFrom}: {string.Join(", ", pick.Taken)}");
                if (pick.Changed.Count > 0) console.Out.WriteLine($"changed from here on: {string.Join(", ", pick.Changed)}");
            }
            if (engineName == "torchrun")
            {
                var trainerArguments = new List<(string, string?)>
                {
                    ("--dataset", result.GetValue(dataset)!),
                    ("--workers", Invariant(result.GetValue(workers))),
                    ("--train-split", result.GetValue(trainSplit)!),
                    ("--val-split", result.GetValue(valSplit) ?? "none"),
                    ("--device", result.GetValue(device)!),
                };
                // The recipe options the command line gives; the PyTorch engine takes the others from the resumed run's
                // checkpoint, or its defaults, which are these (train.py's RECIPE).
                void Given<T>(Option<T> option, Func<T, string> text)
                {
                    if (result.GetResult(option) is { Implicit: false }) trainerArguments.Add((option.Name, text(result.GetValue(option)!)));
                }
                Given(iterations, v => Invariant(v));
                Given(batch, v => Invariant(v));
                Given(accumulate, v => Invariant(v));
                Given(lr, Invariant);
                Given(weightDecay, Invariant);
                Given(evalEvery, v => Invariant(v));
                Given(logEvery, v => Invariant(v));
                Given(evalMode, v => v);
                Given(checkpointEvery, v => Invariant(v));
                Given(seed, v => Invariant(v));
                Given(crop, v => Invariant(v!.Value));
                if (result.GetValue(init) is { } initial) trainerArguments.Add(("--init", Path.GetFullPath(initial)));
                if (resuming) trainerArguments.Add(("--resume", resumeArgument is null ? null : Path.GetFullPath(resumeArgument)));   // bare: OUT/last.safetensors where it runs
                if (result.GetValue(skipBad)) trainerArguments.Add(("--skip-bad-samples", null));
                if (result.GetValue(overwrite)) trainerArguments.Add(("--overwrite", null));
                int exit;
                using (RunLock.Acquire(recipe.OutputDirectory))   // held for the PyTorch engine's processes, which write into the folder
                {
                    if (!recipe.Overwrite) Trainer.RefuseExistingRun(recipe.OutputDirectory, resumeFrom);
                    exit = torchrun.Run(result, console, result.GetValue(model)!, result.GetValue(data)!, recipe.OutputDirectory, trainerArguments);
                }
                DrawCurves(console, recipe.OutputDirectory);   // the PyTorch engine writes the same metrics.jsonl
                return exit;
            }
            torchrun.RefuseWithTorchSharp(result);
            var cancellation = CancellationToken.None;

            // --init gives the encoder to start from; a resumed run gets every weight from its checkpoint instead.
            using var loaded = ModelLoader.Load(new ModelRequest
            {
                Model = result.GetValue(model)!,
                Checkpoint = resumeFrom is null ? result.GetValue(init) : null,
                UseVariantCheckpoint = false,
                EncoderOnly = true,
                Device = result.GetValue(device)!,
                Seed = Seeds.Mix(result.GetValue(seed), 0x1A17),   // the initialisation, too, is a function of the seed
            });
            if (loaded.Report is { } report)
            {
                if (report.Warning is { } warning) throw new ArgumentException($"{warning}; training cannot start from them");
                console.Out.WriteLine(TerminalText.Safe($"initialised: {report.Summary()}"));
            }
            var network = loaded.Model;
            var target = loaded.Device;
            var spec = network.Specification;
            var layout = DatasetLayouts.Parse(result.GetValue(dataset)!);
            var trainSet = DatasetReader.Open(layout, result.GetValue(data)!, result.GetValue(trainSplit)!);
            var validationName = result.GetValue(valSplit);
            var validationSet = validationName is null or "none" ? null : DatasetReader.Open(layout, result.GetValue(data)!, validationName);
            int cropSize = cropOption ?? Math.Min(spec.ImageHeight, spec.ImageWidth);

            var options = recipe with
            {
                CropSize = cropSize,
                Evaluation = InferenceOptions.ForWindow(InferenceOptions.ParseMode(evalModeName), cropSize),
            };
            console.Out.WriteLine($"training {spec.Name} on {trainSet.Count} images of {trainSet.Root} ({DatasetLayouts.Name(layout)}), " +
                                  $"{options.Iterations} steps of {options.BatchSize}×{options.Accumulate} {cropSize}×{cropSize} crops, lr {options.LearningRate:G3}, {target}");
            var trainer = new Trainer(network, trainSet, validationSet, options, target)
            {
                Description = new JsonObject { ["command_line"] = string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), ["model_argument"] = result.GetValue(model) },
            };
            TrainingResult final;
            try
            {
                final = Run(console, trainer, options, resumeFrom, cancellation);
            }
            finally
            {
                DrawCurves(console, options.OutputDirectory);   // also when training stopped on an error: the curves show what happened
            }
            if (final.LastMetrics is { } metrics) MetricsTable.Write(console, metrics);
            if (final.SkippedSamples > 0) WriteSkipped(console, final.SkippedSamples, final.SkipReasons);
            console.Out.WriteLine(final.Interrupted
                ? $"stopped at step {final.Iteration}; continue with: segmenter train … --resume {trainer.LastCheckpoint}"
                : $"done: {trainer.LastCheckpoint}" + (double.IsNaN(final.BestMeanIoU) ? "" : $", best mIoU {100 * final.BestMeanIoU:F2} in {trainer.BestCheckpoint}"));
            return final.Interrupted ? 130 : 0;
        });
        return command;
    }

    /// <summary>How many samples were skipped, and the files' errors (the first ten), so the data can be mended.</summary>
    private static void WriteSkipped(CliConsole console, int count, IReadOnlyList<string> reasons)
    {
        const int shown = 10;
        console.Out.WriteLine($"{count} unreadable {(count == 1 ? "sample was" : "samples were")} skipped, for {reasons.Count} {(reasons.Count == 1 ? "error" : "errors")}:");
        foreach (var reason in reasons.Take(shown)) console.Out.WriteLine($"  {TerminalText.Safe(reason)}");
        if (reasons.Count > shown) console.Out.WriteLine($"  … and {reasons.Count - shown} more");
    }

    /// <summary>OUT/curves.png from OUT/metrics.jsonl; a picture that cannot be drawn is a warning, never the end of a run.</summary>
    private static void DrawCurves(CliConsole console, string directory)
    {
        try
        {
            TrainingCurves.Draw(directory);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            console.Warning($"could not draw {Path.Combine(directory, TrainingCurves.FileName)}: {e.Message}");
        }
    }

    private static TrainingResult Run(CliConsole console, Trainer trainer, TrainingOptions options, string? resumeFrom, CancellationToken cancellation)
    {
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;   // finish the step, write a checkpoint, then stop
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            // Steps: a line redrawn in a terminal; redirected, a line every iters/50 steps and at least every 10 s.
            int every = Math.Max(1, options.Iterations / 50);
            using var steps = new ProgressLine(console.Out, "step", options.Iterations, "steps");
            ProgressLine? evaluation = null;
            trainer.Note += steps.Note;
            trainer.Progress += p => steps.Report(p.Iteration, string.Create(CultureInfo.InvariantCulture,
                $"loss {p.Loss:F4}  lr {p.LearningRate:E2}  {p.ImagesPerSecond:F2} img/s"), worthALine: p.Iteration % every == 0 || p.Iteration == 1);
            trainer.EvaluationProgress += (done, total) =>
            {
                if (evaluation is null)
                {
                    steps.Clear();
                    evaluation = new ProgressLine(console.Out, "evaluating", total, "images");
                }
                evaluation.Report(done);
                if (done < total) return;
                evaluation.Dispose();
                evaluation = null;
            };
            trainer.Evaluated += (_, _) => DrawCurves(console, options.OutputDirectory);
            trainer.Evaluated += (step, metrics) => steps.Note($"step {step}: mIoU {100 * metrics.MeanIoU:F2}, aAcc {100 * metrics.PixelAccuracy:F2}, mAcc {100 * metrics.MeanAccuracy:F2}");
            return trainer.Run(resumeFrom, interrupt.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
