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

    /// <summary>How to evaluate.</summary>
    public InferenceOptions? Evaluation { get; init; }

    /// <summary>Background workers decoding and augmenting.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Use the next sample in place of one that cannot be read, counting them.</summary>
    public bool SkipBadSamples { get; init; }

    /// <summary>Where checkpoints and TensorBoard logs go.</summary>
    public string OutputDirectory { get; init; } = "runs/segmenter";
}
