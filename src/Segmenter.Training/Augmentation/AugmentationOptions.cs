namespace Segmenter.Training.Augmentation;

/// <summary>Settings of the training pipeline (mmsegmentation's, as the paper trains).</summary>
/// <param name="CropSize">The square crop S.</param>
/// <param name="MinRatio">Smallest random resize ratio.</param>
/// <param name="MaxRatio">Largest random resize ratio.</param>
/// <param name="CategoryMaxRatio">A crop is retried (up to 10 times) while one class covers this share or more of its labelled pixels.</param>
/// <param name="FlipProbability">Horizontal flip probability.</param>
/// <param name="Photometric">Brightness, contrast, saturation and hue jitter.</param>
public sealed record AugmentationOptions(int CropSize, double MinRatio = 0.5, double MaxRatio = 2.0, double CategoryMaxRatio = 0.75, double FlipProbability = 0.5, bool Photometric = true);
