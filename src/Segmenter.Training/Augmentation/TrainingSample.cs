namespace Segmenter.Training.Augmentation;

/// <summary>One augmented training sample: a normalised image [3, S, S] and its labels [S, S] (255 where padded or ignored).</summary>
/// <param name="Image">CHW floats.</param>
/// <param name="Labels">Class indices.</param>
public sealed record TrainingSample(float[] Image, byte[] Labels);
