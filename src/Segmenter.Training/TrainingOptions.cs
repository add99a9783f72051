using Segmenter.Inference;

namespace Segmenter.Training;

/// <summary>How to train (the paper's recipe by default).</summary>
public sealed record TrainingOptions
{
    /// <summary>Optimiser steps.</summary>
    public int Iterations { get; init; } = 160_000;

    /// <summary>Images per step (split over <see cref="Accumulate"/> forward passes).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Forward/backward passes whose gradients are summed per step; each sees BatchSize images.</summary>
    public int Accumulate { get; init; } = 1;

    /// <summary>The square training crop S.</summary>
    public int CropSize { get; init; } = 512;

    /// <summary>lr0 of the poly schedule.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>The schedule's floor.</summary>
    public double MinimumLearningRate { get; init; } = 1e-5;

    /// <summary>SGD momentum (Nesterov).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (0 in the paper).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Seeds data order, augmentation and dropout.</summary>
    public int Seed { get; init; }

    /// <summary>Write last.safetensors every this many steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>Evaluate on the validation split every this many steps (0: only at the end).</summary>
    public int EvaluateEvery { get; init; }

    /// <summary>The precision of the transformer blocks' products (bfloat16: weights, norms, loss and optimiser stay float32).</summary>
    public Segmenter.Runtime.ComputePrecision Precision { get; init; } = Segmenter.Runtime.ComputePrecision.Float32;

    /// <summary>A metrics.jsonl line every this many steps (and at the last).</summary>
    public int LogEvery { get; init; } = 1;

    /// <summary>How to evaluate.</summary>
    public InferenceOptions? Evaluation { get; init; }

    /// <summary>Background workers decoding and augmenting.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>
    /// Parts each batch is split into, each computed by a thread of its own with libtorch at one thread (see
    /// <see cref="ShardedStep"/>); 0 chooses (one per core on a CPU, up to the batch; 1 elsewhere), 1 computes the batch in one pass.
    /// The step's result is the same, to float rounding, whatever the count.
    /// </summary>
    public int Shards { get; init; }

    /// <summary>Use the next sample in place of one that cannot be read, counting them.</summary>
    public bool SkipBadSamples { get; init; }

    /// <summary>Where checkpoints and TensorBoard logs go.</summary>
    public string OutputDirectory { get; init; } = "runs/segmenter";

    /// <summary>Start afresh even if <see cref="OutputDirectory"/> holds a run's checkpoints (they are replaced as training goes). Off: such a run is refused.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The largest training crop accepted (a crop is held in memory several times per sample).</summary>
    public const int MaximumCropSize = 8192;

    /// <summary>Throws an <see cref="System.ArgumentException"/> naming the first option out of its range (as the command line spells it).</summary>
    public void Validate()
    {
        static void Check(bool valid, string message)
        {
            if (!valid) throw new System.ArgumentException(message);
        }
        Check(Iterations >= 1, $"--iters {Iterations}: training needs at least 1 step");
        Check(BatchSize >= 1, $"--batch {BatchSize}: a step needs at least 1 image");
        Check(Accumulate >= 1, $"--accumulate {Accumulate}: at least 1 forward/backward pass per step");
        Check(CropSize >= 1 && CropSize <= MaximumCropSize, $"--crop {CropSize}: the training crop must be between 1 and {MaximumCropSize} pixels");
        Check((long)BatchSize * 3 * CropSize * CropSize <= int.MaxValue,
            $"--batch {BatchSize} of {CropSize}×{CropSize} crops: a forward pass's images are one array of at most 2³¹ values; give a smaller --batch and --accumulate more passes");
        // The optimiser computes in float32: a value beyond float32's largest would be infinite there.
        Check(double.IsFinite(LearningRate) && LearningRate > 0 && LearningRate <= float.MaxValue,
            $"--lr {LearningRate}: the learning rate must be a positive number up to {float.MaxValue:G4} (float32's largest)");
        Check(double.IsFinite(MinimumLearningRate) && MinimumLearningRate >= 0 && MinimumLearningRate <= float.MaxValue,
            $"the schedule's floor {MinimumLearningRate} must be from 0 to {float.MaxValue:G4} (float32's largest)");
        Check(double.IsFinite(Momentum) && Momentum >= 0 && Momentum < 1, $"momentum {Momentum}: it must be in [0, 1)");
        Check(double.IsFinite(WeightDecay) && WeightDecay >= 0 && WeightDecay <= float.MaxValue,
            $"--weight-decay {WeightDecay}: it must be from 0 to {float.MaxValue:G4} (float32's largest)");
        Check(CheckpointEvery >= 1, $"--checkpoint-every {CheckpointEvery}: at least 1");
        Check(EvaluateEvery >= 0, $"--eval-every {EvaluateEvery}: 0 (at the end only) or more");
        Check(LogEvery >= 1, $"--log-every {LogEvery}: at least 1");
        Check(Shards >= 0, $"--shards {Shards}: 0 (one per core) or more");
        Check(Workers >= 0, $"--workers {Workers}: 0 (decode in the training thread) or more");
    }
}
