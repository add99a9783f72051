using System;
using System.IO;
using System.Linq;
using System.Threading;
using Segmenter.Dsl;
using Segmenter.Tooling;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Training.Data;
using Segmenter.Inference;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Segmenter.Training.Tests;

/// <summary>Training end to end on synthetic data: convergence, exact resume, interruption, bad samples.</summary>
public sealed class TrainerTests : IDisposable
{
    private const string Specs = """
        backbone Small4 { layers = 3 width = 96 heads = 3 }
        model Learner { backbone = Small4 patch = 8 image = 64 classes = 4 decoder = mask(layers = 1, heads = 3) drop_path = 0.1 }
        """;

    private static readonly Lazy<ModelEntry> Learner = new(() =>
    {
        var compilation = SpecCompiler.Compile(Specs);
        Assert.Empty(compilation.Diagnostics);
        return DynamicModels.Load(compilation.Models).Single();
    });

    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-training-");
    private readonly ITestOutputHelper output;

    public TrainerTests(ITestOutputHelper output) => this.output = output;

    public void Dispose() => temporary.Delete(recursive: true);

    private string Dataset(int train, int val)
    {
        var root = Path.Combine(temporary.FullName, "data");
        if (!Directory.Exists(root))
            SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, train, val, new SceneOptions(Classes: 4, MinSize: 64, MaxSize: 96, Seed: 1));
        return root;
    }

    private static TrainingOptions Options(string output, int iterations) => new()
    {
        Iterations = iterations,
        BatchSize = 4,
        CropSize = 64,
        LearningRate = 0.01,
        Seed = 3,
        CheckpointEvery = 1000,
        Workers = 2,
        OutputDirectory = output,
        Evaluation = new InferenceOptions(InferenceMode.Whole, 64, 64),
    };

    [Fact]
    public void A_small_model_learns_the_synthetic_scenes()
    {
        var root = Dataset(80, 12);
        manual_seed(0);
        using var model = Learner.Value.Create(null);
        var train = DatasetReader.Open(DatasetLayout.Folder, root, "train");
        var val = DatasetReader.Open(DatasetLayout.Folder, root, "val");
        var trainer = new Trainer(model, train, val, Options(Path.Combine(temporary.FullName, "converge"), 150), CPU);
        var result = trainer.Run();
        output.WriteLine($"losses: first {result.Losses[0]:F3}, last {result.Losses[^1]:F3}; mIoU {100 * result.LastMetrics!.MeanIoU:F2}");
        Assert.True(result.Losses.TakeLast(10).Average() < 0.6 * result.Losses.Take(10).Average());
        // Measured here: 150 steps of 4 crops reach 79.55 % mIoU on these scenes (see docs/training.md); a wide margin is kept.
        Assert.True(result.LastMetrics.MeanIoU > 0.55, $"mIoU {result.LastMetrics.MeanIoU:P1}");
        Assert.True(File.Exists(trainer.BestCheckpoint) && File.Exists(trainer.LastCheckpoint));
        Assert.True(File.Exists(Directory.GetFiles(Path.Combine(temporary.FullName, "converge", "tensorboard")).Single()));
    }

    [Fact]
    public void A_bf16_run_learns_as_the_float32_run_does()
    {
        // The quickstart's model, data and recipe (150 of its 400 steps): where bf16 training once lost its way.
        const string Quick = """
            backbone QuickBackbone { layers = 4 width = 128 heads = 4 }
            model SegQuick { backbone = QuickBackbone patch = 8 image = 96 classes = 5 decoder = mask(layers = 1, dropout = 0) drop_path = 0.0 }
            """;
        var entry = DynamicModels.Load(SpecCompiler.Compile(Quick).Models).Single();
        var root = Path.Combine(temporary.FullName, "quick");
        SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, 200, 20, new SceneOptions(Classes: 5));
        var train = DatasetReader.Open(DatasetLayout.Folder, root, "train");
        var val = DatasetReader.Open(DatasetLayout.Folder, root, "val");
        double MeanIoU(ComputePrecision precision)
        {
            manual_seed(0);
            using var model = entry.Create(null);
            var options = new TrainingOptions
            {
                Iterations = 150, BatchSize = 8, CropSize = 96, LearningRate = 0.01, CheckpointEvery = 1000,
                OutputDirectory = Path.Combine(temporary.FullName, precision.ToString()), Precision = precision,
            };
            return new Trainer(model, train, val, options, CPU).Run().LastMetrics!.MeanIoU;
        }
        double float32 = MeanIoU(ComputePrecision.Float32), bf16 = MeanIoU(ComputePrecision.BFloat16);
        output.WriteLine($"mIoU float32 {100 * float32:F2}, bf16 {100 * bf16:F2}");
        // Measured here: 88.94 and 88.99. With libtorch's fused bfloat16 attention in training, bf16 ended this run at 87.36, and
        // the quickstart's own run (other scenes) at 79.42 after 150 steps and 15.43 after 400, against 90.07 and 90.31 in float32.
        Assert.True(Math.Abs(float32 - bf16) <= 0.01, $"bf16 mIoU {100 * bf16:F2} against float32 {100 * float32:F2}");
    }

    [Fact]
    public void A_resumed_run_repeats_the_uninterrupted_runs_losses_exactly()
    {
        var root = Dataset(20, 2);
        var train = DatasetReader.Open(DatasetLayout.Folder, root, "train");

        manual_seed(5);
        using var straight = Learner.Value.Create(null);
        var uninterrupted = new Trainer(straight, train, null, Options(Path.Combine(temporary.FullName, "straight"), 6), CPU).Run();

        manual_seed(5);
        using var first = Learner.Value.Create(null);
        var stopping = new Trainer(first, train, null, Options(Path.Combine(temporary.FullName, "resumed"), 6), CPU);
        using var cancel = new CancellationTokenSource();
        stopping.Progress += p => { if (p.Iteration == 3) cancel.Cancel(); };
        var part = stopping.Run(cancellation: cancel.Token);
        Assert.True(part.Interrupted);
        Assert.Equal(3, part.Iteration);

        manual_seed(99);   // a different initialisation: everything must come from the checkpoint
        using var second = Learner.Value.Create(null);
        var resumer = new Trainer(second, train, null, Options(Path.Combine(temporary.FullName, "resumed"), 6), CPU);
        var rest = resumer.Run(resumeFrom: stopping.LastCheckpoint);

        Assert.Equal(uninterrupted.Losses.Take(3), part.Losses);
        Assert.Equal(uninterrupted.Losses.Skip(3), rest.Losses);
        foreach (var (key, value) in straight.state_dict())
            Assert.True(value.equal(second.state_dict()[key]).all().item<bool>(), key);
    }

    [Fact]
    public void Training_checkpoints_load_as_weights_anywhere()
    {
        var root = Dataset(20, 2);
        using var model = Learner.Value.Create(null);
        var trainer = new Trainer(model, DatasetReader.Open(DatasetLayout.Folder, root, "train"), null, Options(Path.Combine(temporary.FullName, "weights"), 2), CPU);
        trainer.Run();
        using var copy = Learner.Value.Create(null);
        var report = CheckpointLoader.Load(copy, trainer.LastCheckpoint);
        Assert.Empty(report.Missing);
        Assert.Contains(report.Notes, n => n.Contains("optimiser state"));
    }

    [Fact]
    public void Unreadable_samples_are_skipped_and_counted_when_asked()
    {
        var root = Path.Combine(temporary.FullName, "broken");
        SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, 6, 0, new SceneOptions(Classes: 4, MinSize: 64, MaxSize: 64));
        File.WriteAllText(Path.Combine(root, "images", "train", "00002.png"), "garbage");
        var train = DatasetReader.Open(DatasetLayout.Folder, root, "train");
        using var model = Learner.Value.Create(null);
        var strict = new Trainer(model, train, null, Options(Path.Combine(temporary.FullName, "strict"), 4), CPU);
        Assert.Throws<DatasetException>(() => strict.Run());
        var lenient = new Trainer(model, train, null, Options(Path.Combine(temporary.FullName, "lenient"), 4) with { SkipBadSamples = true }, CPU);
        var result = lenient.Run();
        Assert.True(result.SkippedSamples > 0);
        var reason = Assert.Single(result.SkipReasons);   // the one bad file, however often it was drawn
        Assert.StartsWith(Path.Combine(root, "images", "train", "00002.png"), reason);
    }

    /// <summary>
    /// Skips are counted as their batches are trained on: the batches the loader has prefetched, which a short run may never
    /// use, count nothing. Three samples of four are unreadable, so the workers' prefetched batches certainly skip some,
    /// and the first batch (two different samples) at least one.
    /// </summary>
    [Fact]
    public void Skipped_samples_are_counted_in_the_batches_trained_on_only()
    {
        var root = Path.Combine(temporary.FullName, "mostly-broken");
        SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, 4, 0, new SceneOptions(Classes: 4, MinSize: 64, MaxSize: 64));
        var broken = new[] { "00001.png", "00002.png", "00003.png" }.Select(name => Path.Combine(root, "images", "train", name)).ToArray();
        foreach (var path in broken) File.WriteAllText(path, "garbage");
        var train = DatasetReader.Open(DatasetLayout.Folder, root, "train");
        using var batches = new TrainingBatches(train, new Segmenter.Training.Augmentation.AugmentationOptions(32), Segmenter.Spec.NormalizationSpec.Vit,
            batchSize: 2, seed: 3, workers: 2, prefetch: 4, skipBadSamples: true);
        Thread.Sleep(500);   // the workers fill the prefetch queue meanwhile
        Assert.Equal(0, batches.SkippedSamples);
        Assert.Empty(batches.SkipReasons);
        var (images, labels) = batches.Next();
        images.Dispose();
        labels.Dispose();
        Assert.InRange(batches.SkippedSamples, 1, 6);
        Assert.InRange(batches.SkipReasons.Count, 1, Math.Min(3, batches.SkippedSamples));
        Assert.All(batches.SkipReasons, reason => Assert.Contains(broken, path => reason.StartsWith(path + ":", StringComparison.Ordinal)));
        Assert.Equal(batches.SkipReasons.Count, batches.SkipReasons.Distinct().Count());
    }

    [Fact]
    public void The_poly_schedule_decays_to_its_floor()
    {
        var schedule = new PolySchedule(1e-3, 100);
        Assert.Equal(1e-3, schedule.At(0), 12);
        Assert.Equal((1e-3 - 1e-5) * Math.Pow(0.5, 0.9) + 1e-5, schedule.At(50), 12);
        Assert.Equal(1e-5, schedule.At(100), 12);
    }

    [Fact]
    public void A_dataset_with_other_classes_than_the_model_is_refused()
    {
        var root = Path.Combine(temporary.FullName, "five");
        SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, 2, 0, new SceneOptions(Classes: 5));
        using var model = Learner.Value.Create(null);
        var error = Assert.Throws<ArgumentException>(() => new Trainer(model, DatasetReader.Open(DatasetLayout.Folder, root, "train"), null, Options(temporary.FullName, 1), CPU));
        Assert.Contains("the dataset has 5 classes but Learner predicts 4", error.Message);
    }

    [Theory]
    [InlineData(1e39, 0.0, "--lr 1E+39: the learning rate must be a positive number up to 3.403E+38 (float32's largest)")]
    [InlineData(0.01, 1e300, "--weight-decay 1E+300: it must be from 0 to 3.403E+38 (float32's largest)")]
    [InlineData(double.NaN, 0.0, "--lr NaN: the learning rate must be a positive number")]
    public void Recipe_values_float32_cannot_hold_are_refused(double learningRate, double weightDecay, string expected)
    {
        var options = new TrainingOptions { LearningRate = learningRate, WeightDecay = weightDecay };
        Assert.Contains(expected, Assert.Throws<ArgumentException>(options.Validate).Message);
    }
}
