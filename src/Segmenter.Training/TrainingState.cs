namespace Segmenter.Training;

/// <summary>Where a training run stands: the step reached and the best evaluation so far.</summary>
/// <param name="Iteration">Steps completed.</param>
/// <param name="BestMeanIoU">The best validation mIoU seen (NaN if none yet).</param>
/// <param name="BestIteration">The step at which it was seen.</param>
public sealed record TrainingState(int Iteration, double BestMeanIoU, int BestIteration);
