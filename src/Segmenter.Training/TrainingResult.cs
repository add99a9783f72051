using System.Collections.Generic;
using Segmenter.Training.Evaluation;

namespace Segmenter.Training;

/// <summary>How a run ended.</summary>
/// <param name="Iteration">Steps completed.</param>
/// <param name="Interrupted">True if stopped early (Ctrl-C); a checkpoint was written.</param>
/// <param name="Losses">The loss of every step run in this call.</param>
/// <param name="LastMetrics">The last validation metrics, if any evaluation ran.</param>
/// <param name="BestMeanIoU">The best validation mIoU of the run so far.</param>
/// <param name="SkippedSamples">Samples skipped as unreadable.</param>
/// <param name="SkipReasons">Why: each distinct error, naming its file, once.</param>
public sealed record TrainingResult(int Iteration, bool Interrupted, IReadOnlyList<double> Losses, SegmentationMetrics? LastMetrics, double BestMeanIoU, int SkippedSamples,
    IReadOnlyList<string> SkipReasons);
