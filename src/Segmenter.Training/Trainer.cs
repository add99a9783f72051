using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using Segmenter.Runtime;
using Segmenter.Spec;
using Segmenter.Training.Augmentation;
using Segmenter.Training.Data;
using Segmenter.Inference;
using Segmenter.Training.Evaluation;
using Segmenter.Training.Records;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Training;

/// <summary>
/// The paper's training recipe: SGD with Nesterov momentum, the poly schedule,
/// pixel-wise cross-entropy ignoring label 255, drop-path and dropout as the spec says; checkpoints
/// every N steps (atomic), periodic evaluation with the best checkpoint kept, TensorBoard logs, and an
/// exact resume: dropout masks come from a seed per step and image, and batches from a seed per batch. On a CPU each
/// batch is split across threads (<see cref="ShardedStep"/>).
/// </summary>
public sealed class Trainer
{
    private readonly SegmenterModel model;
    private readonly SegmentationDataset trainSet;
    private readonly SegmentationDataset? validationSet;
    private readonly TrainingOptions options;
    private readonly Device device;

    /// <summary>Prepares training <paramref name="model"/> (already on <paramref name="device"/>) on <paramref name="trainSet"/>.</summary>
    public Trainer(SegmenterModel model, SegmentationDataset trainSet, SegmentationDataset? validationSet, TrainingOptions options, Device device)
    {
        if (trainSet.NumClasses != model.Specification.NumClasses)
            throw new ArgumentException($"the dataset has {trainSet.NumClasses} classes but {model.Specification.Name} predicts {model.Specification.NumClasses}; " +
                                        $"use a model whose 'classes' match the dataset (e.g. a spec with classes = {trainSet.NumClasses})");
        if (validationSet is not null && validationSet.NumClasses != trainSet.NumClasses)
            throw new ArgumentException($"the validation split has {validationSet.NumClasses} classes but the training split {trainSet.NumClasses}; use splits of one dataset");
        options.Validate();
        this.model = model;
        this.trainSet = trainSet;
        this.validationSet = validationSet;
        this.options = options;
        this.device = device;
    }

    /// <summary>The path of the latest checkpoint.</summary>
    public string LastCheckpoint => Path.Combine(options.OutputDirectory, "last.safetensors");

    /// <summary>The path of the best checkpoint (by validation mIoU).</summary>
    public string BestCheckpoint => Path.Combine(options.OutputDirectory, "best.safetensors");

    /// <summary>Called after every step.</summary>
    public event Action<TrainingProgress>? Progress;

    /// <summary>Called after every evaluation.</summary>
    public event Action<int, SegmentationMetrics>? Evaluated;

    /// <summary>Called with notes worth a log line (checkpoints written, resumes).</summary>
    public event Action<string>? Note;

    /// <summary>Called during each evaluation with (images done, images in all).</summary>
    public event Action<int, int>? EvaluationProgress;

    /// <summary>
    /// What the caller adds to the run's config.json (for example the spec's source text and the command line);
    /// merged over the trainer's own description.
    /// </summary>
    public JsonObject? Description { get; init; }

    /// <summary>The run's record in its output folder (config.json, metrics.jsonl).</summary>
    public RunRecord Record => new(options.OutputDirectory);

    /// <summary>
    /// Throws <see cref="TrainingStoppedException"/> if <paramref name="outputDirectory"/> holds a run's checkpoints that a
    /// run there would replace: any, for a new run; for one resumed from <paramref name="resumeFrom"/>, those of another run
    /// (a checkpoint outside the folder). Both engines check it before writing anything (unless asked to overwrite).
    /// </summary>
    public static void RefuseExistingRun(string outputDirectory, string? resumeFrom = null)
    {
        string? runFolder = resumeFrom is null ? null : Path.GetDirectoryName(Path.GetFullPath(resumeFrom));
        if (runFolder is not null && string.Equals(runFolder, Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory)), StringComparison.Ordinal))
            return;   // the run continues in its own folder
        var existing = new[] { "last.safetensors", "best.safetensors" }.Where(f => File.Exists(Path.Combine(outputDirectory, f))).ToList();
        if (existing.Count == 0) return;
        throw new TrainingStoppedException(resumeFrom is null
            ? $"{outputDirectory} already holds a training run ({string.Join(", ", existing)}); " +
              "continue it with --resume, train into another --out folder, or pass --overwrite to start afresh and replace it"
            : $"{outputDirectory} already holds another training run ({string.Join(", ", existing)}), which resuming {resumeFrom} there would replace; " +
              $"resume into the checkpoint's own folder {runFolder} (leave out --out), train into another --out folder, or pass --overwrite to replace it");
    }

    /// <summary>What a resumed run that has nothing left to do should be told (empty when steps remain); both engines say it.</summary>
    internal static string PastTheEnd(int step, int iterations) =>
        step >= iterations ? $": --iters {iterations} is reached, so no step is taken; give a larger --iters to train on" : "";

    /// <summary>Trains from scratch (or from <paramref name="resumeFrom"/>, a training checkpoint) until done or <paramref name="cancellation"/> fires.</summary>
    public TrainingResult Run(string? resumeFrom = null, CancellationToken cancellation = default)
    {
        using var runLock = RunLock.Acquire(options.OutputDirectory);   // first: two runs could both pass the check below
        if (!options.Overwrite) RefuseExistingRun(options.OutputDirectory, resumeFrom);
        using var optimizer = new NesterovSgd(model.named_parameters(), options.LearningRate, options.Momentum, options.WeightDecay, nesterov: options.Momentum > 0);
        using var step = new ShardedStep(model, ShardCount(options));
        var state = new TrainingState(0, double.NaN, 0);
        int seed = options.Seed;
        if (resumeFrom is not null)
        {
            (state, seed) = TrainingCheckpoint.Load(resumeFrom, model, optimizer, options);
            Note?.Invoke($"resumed from {resumeFrom} at step {state.Iteration}" + PastTheEnd(state.Iteration, options.Iterations));
        }
        var run = options with { Seed = seed };
        model.SetPrecision(run.Precision);   // after the resumed weights are in
        var record = Record;
        record.WriteConfig(Configuration(run, resumeFrom, state.Iteration));
        record.Start(state.Iteration);
        var schedule = new PolySchedule(run.LearningRate, run.Iterations, run.MinimumLearningRate);
        var augmentation = new AugmentationOptions(run.CropSize);
        var writer = torch.utils.tensorboard.SummaryWriter(Path.Combine(run.OutputDirectory, "tensorboard"));

        var losses = new List<double>();
        SegmentationMetrics? lastMetrics = null;
        using var batches = new TrainingBatches(trainSet, augmentation, model.Specification.Normalization, run.BatchSize, seed,
            firstBatch: (long)state.Iteration * run.Accumulate, workers: run.Workers, skipBadSamples: run.SkipBadSamples);
        var rate = new RateWindow();
        int startedAt = state.Iteration;
        bool interrupted = false;

        while (state.Iteration < run.Iterations)
        {
            if (cancellation.IsCancellationRequested)
            {
                interrupted = true;
                break;
            }
            int iteration = state.Iteration;
            double lr = schedule.At(iteration);
            optimizer.LearningRate = lr;
            manual_seed(Seeds.Mix(seed, iteration, 0xD20F));   // anything drawing from the global generator: a function of the step
            model.train();
            optimizer.ZeroGrad();
            double loss = 0;
            for (int micro = 0; micro < run.Accumulate; micro++)
            {
                using var scope = NewDisposeScope();
                var (images, labels) = batches.Next();
                if (!labels.ne(Scalars.Of(255L)).any().item<bool>()) continue;   // nothing labelled in this batch (checked on the CPU): no gradient, no forward pass
                // Dropout and drop-path masks: a function of the step and the image's place in it, whichever shard computes it.
                var masks = Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)Seeds.Mix(seed, iteration, 0xD20F, (long)micro * images.shape[0] + i)).ToArray();
                loss += step.Accumulate(images.to(device), labels.to(device), 1.0 / run.Accumulate, masks) ?? 0;
            }
            if (!double.IsFinite(loss))
                throw new TrainingStoppedException($"the loss became {loss} at step {iteration + 1} (learning rate {lr:G3}), so training stopped without stepping; " +
                                                   (File.Exists(LastCheckpoint) ? $"{LastCheckpoint} holds the last finite weights. " : "no checkpoint was written. ") +
                                                   "Lower --lr, or check the data for broken images");
            optimizer.Step();
            state = state with { Iteration = iteration + 1 };
            losses.Add(loss);

            rate.Observe(state.Iteration - startedAt);
            double perSecond = rate.PerSecond * run.BatchSize * run.Accumulate;
            var remaining = rate.Remaining(run.Iterations - startedAt);
            bool last = state.Iteration == run.Iterations;
            writer.add_scalar("train/loss", (float)loss, state.Iteration);
            writer.add_scalar("train/lr", (float)lr, state.Iteration);
            if (last || state.Iteration % run.LogEvery == 0) record.Step(state.Iteration, loss, lr, perSecond);
            Progress?.Invoke(new TrainingProgress(state.Iteration, run.Iterations, loss, lr, perSecond, remaining));

            if (validationSet is not null && (last || (run.EvaluateEvery > 0 && state.Iteration % run.EvaluateEvery == 0)))
            {
                lastMetrics = Evaluate(writer, state.Iteration);
                record.Evaluation(state.Iteration, lastMetrics);
                Evaluated?.Invoke(state.Iteration, lastMetrics);   // after the record: a listener reading metrics.jsonl sees this evaluation
                if (double.IsNaN(state.BestMeanIoU) || lastMetrics.MeanIoU > state.BestMeanIoU)
                {
                    state = state with { BestMeanIoU = lastMetrics.MeanIoU, BestIteration = state.Iteration };
                    EnsureFinite(state.Iteration, lr);
                    TrainingCheckpoint.Save(BestCheckpoint, model, optimizer, state, run);
                    Note?.Invoke($"best mIoU {100 * lastMetrics.MeanIoU:F2} at step {state.Iteration}: {BestCheckpoint}");
                }
            }
            if (last || state.Iteration % run.CheckpointEvery == 0)
            {
                EnsureFinite(state.Iteration, lr);
                TrainingCheckpoint.Save(LastCheckpoint, model, optimizer, state, run);
                Note?.Invoke($"checkpoint at step {state.Iteration}: {LastCheckpoint}");
            }
        }

        if (interrupted)
        {
            EnsureFinite(state.Iteration, schedule.At(Math.Max(0, state.Iteration - 1)));
            TrainingCheckpoint.Save(LastCheckpoint, model, optimizer, state, run);
            Note?.Invoke($"interrupted: checkpoint at step {state.Iteration}: {LastCheckpoint} (continue with --resume)");
        }
        return new TrainingResult(state.Iteration, interrupted, losses, lastMetrics, state.BestMeanIoU, batches.SkippedSamples, batches.SkipReasons.ToArray());
    }

    /// <summary>config.json: every resolved option (named as the PyTorch engine names them), the spec, data, device, versions and machine.</summary>
    private JsonObject Configuration(TrainingOptions run, string? resumeFrom, int step)
    {
        var evaluation = run.Evaluation ?? InferenceOptions.ForWindow(InferenceMode.Slide, run.CropSize);
        var config = new JsonObject
        {
            ["engine"] = $"torchsharp (Segmenter.Training {PlatformInfo.ProjectVersion})",
            ["model_name"] = model.Specification.Name,
            ["spec"] = SpecJson.Full(model.Specification),
            ["spec_text"] = SpecPrinter.Print(model.Specification),
            ["iters"] = run.Iterations, ["batch"] = run.BatchSize, ["accumulate"] = run.Accumulate, ["crop"] = run.CropSize,
            ["lr"] = run.LearningRate, ["min_lr"] = run.MinimumLearningRate, ["momentum"] = run.Momentum, ["weight_decay"] = run.WeightDecay,
            ["seed"] = run.Seed, ["checkpoint_every"] = run.CheckpointEvery, ["eval_every"] = run.EvaluateEvery, ["log_every"] = run.LogEvery,
            ["precision"] = run.Precision == ComputePrecision.BFloat16 ? "bf16" : "float32",
            ["shards"] = ShardCount(run), ["workers"] = run.Workers, ["skip_bad_samples"] = run.SkipBadSamples, ["out"] = Path.GetFullPath(run.OutputDirectory), ["overwrite"] = run.Overwrite,
            ["resume"] = resumeFrom is null ? null : Path.GetFullPath(resumeFrom), ["resumed_at_step"] = step,
            ["eval"] = new JsonObject
            {
                ["mode"] = evaluation.Mode.ToString().ToLowerInvariant(), ["window"] = evaluation.WindowSize, ["stride"] = evaluation.WindowStride,
                ["test_size"] = evaluation.TestShortSide,
            },
            ["data"] = trainSet.Root, ["train_samples"] = trainSet.Count, ["val_samples"] = validationSet?.Count ?? 0,
            ["device"] = device.ToString(),
            ["versions"] = new JsonObject
            {
                ["segmenter"] = PlatformInfo.ProjectVersion, ["torchsharp"] = PlatformInfo.TorchSharpVersion, ["libtorch"] = PlatformInfo.LibTorchVersion,
                ["dotnet"] = Environment.Version.ToString(),
            },
            ["machine"] = new JsonObject
            {
                ["processor"] = PlatformInfo.Processor, ["vector_features"] = new JsonArray(PlatformInfo.VectorFeatures.Select(f => (JsonNode?)f).ToArray()),
                ["cores"] = Environment.ProcessorCount, ["physical_cores"] = PlatformInfo.PhysicalCores, ["threads"] = PlatformInfo.Threads,
                ["gpus"] = new JsonArray(PlatformInfo.Gpus.Select(g => (JsonNode?)g).ToArray()),
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            },
            ["started"] = DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in Description ?? new JsonObject()) config[key] = value?.DeepClone();
        return config;
    }

    private int ShardCount(TrainingOptions run) => ShardedStep.Count(run.Shards, device, run.BatchSize);

    /// <summary>Stops training, before a checkpoint is written, if a weight is no longer finite: a checkpoint never holds NaN or infinity.</summary>
    private void EnsureFinite(int step, double lr)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();   // the per-parameter checks' temporaries
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.isfinite().all().item<bool>()) continue;
            throw new TrainingStoppedException($"weight {name} is no longer finite after step {step} (learning rate {lr:G3}), so training stopped without writing it; " +
                                               (File.Exists(LastCheckpoint) ? $"{LastCheckpoint} holds the last finite weights. " : "no checkpoint was written. ") +
                                               "Lower --lr, or check the data for broken images");
        }
    }

    private SegmentationMetrics Evaluate(TorchSharp.Modules.SummaryWriter writer, int iteration)
    {
        var inference = options.Evaluation ?? InferenceOptions.ForWindow(InferenceMode.Slide, options.CropSize);
        if (options.Precision != ComputePrecision.Float32) model.SetPrecision(options.Precision);   // the inference copy, from the weights as trained so far
        var metrics = DatasetEvaluation.Evaluate(model, validationSet!, inference, device, onImage: (done, total) => EvaluationProgress?.Invoke(done, total));
        writer.add_scalar("val/mIoU", (float)metrics.MeanIoU, iteration);
        writer.add_scalar("val/aAcc", (float)metrics.PixelAccuracy, iteration);
        writer.add_scalar("val/mAcc", (float)metrics.MeanAccuracy, iteration);
        LogSamplePrediction(writer, iteration);
        return metrics;
    }

    /// <summary>The first validation image's prediction, coloured, as a TensorBoard image.</summary>
    private void LogSamplePrediction(TorchSharp.Modules.SummaryWriter writer, int iteration)
    {
        var (image, _) = validationSet!.Load(0);
        using var scope = NewDisposeScope();
        var input = Segmenter.Inference.Imaging.ImageTensors.ToTensor(image, model.Specification.Normalization).to(device);
        var labels = Segmenter.Inference.Imaging.ImageTensors.ToLabelMap(model.Predict(input).argmax(1)[0]);
        var picture = Segmenter.Inference.Imaging.Overlays.Blend(image, labels, Palettes.Voc);
        var chw = tensor(picture.Pixels, new long[] { picture.Height, picture.Width, 3 }, ScalarType.Byte).permute(2, 0, 1).contiguous();
        writer.add_img("val/prediction", chw, iteration);
    }
}
