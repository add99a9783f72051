using System.Collections.Generic;

namespace Segmenter.Training.Evaluation;

/// <summary>Dataset-level metrics, mmsegmentation's way: aAcc, mIoU and mAcc over the whole dataset, and per class.</summary>
/// <param name="PixelAccuracy">aAcc: correct labelled pixels / labelled pixels.</param>
/// <param name="MeanIoU">mIoU: the mean of the defined per-class IoUs.</param>
/// <param name="MeanAccuracy">mAcc: the mean of the defined per-class accuracies.</param>
/// <param name="Classes">Per class.</param>
/// <param name="Pixels">Labelled pixels counted.</param>
public sealed record SegmentationMetrics(double PixelAccuracy, double MeanIoU, double MeanAccuracy, IReadOnlyList<ClassMetric> Classes, long Pixels);
