using System;

namespace Segmenter.Training;

/// <summary>What the trainer reports after each step.</summary>
/// <param name="Iteration">Steps completed.</param>
/// <param name="Iterations">Steps in the run.</param>
/// <param name="Loss">This step's cross-entropy.</param>
/// <param name="LearningRate">This step's learning rate.</param>
/// <param name="ImagesPerSecond">Training throughput over the recent past (about 30 s), not since the start.</param>
/// <param name="Remaining">Estimated time left at that rate (null until there is a rate).</param>
public sealed record TrainingProgress(int Iteration, int Iterations, double Loss, double LearningRate, double ImagesPerSecond, TimeSpan? Remaining);
