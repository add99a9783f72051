using System;

namespace Segmenter.Training;

/// <summary>What the trainer reports after each step.</summary>
/// <param name="Iteration">Steps completed.</param>
/// <param name="Iterations">Steps in the run.</param>
/// <param name="Loss">This step's cross-entropy.</param>
/// <param name="LearningRate">This step's learning rate.</param>
/// <param name="ImagesPerSecond">Training throughput since the run (or resume) started.</param>
/// <param name="Remaining">Estimated time left.</param>
public sealed record TrainingProgress(int Iteration, int Iterations, double Loss, double LearningRate, double ImagesPerSecond, TimeSpan Remaining);
