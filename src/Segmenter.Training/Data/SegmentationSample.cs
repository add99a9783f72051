namespace Segmenter.Training.Data;

/// <summary>One image and its label file.</summary>
public sealed record SegmentationSample(string ImagePath, string LabelPath);
