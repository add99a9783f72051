namespace Segmenter.Training.Evaluation;

/// <summary>Intersection-over-union and accuracy of one class; NaN where undefined (the class is absent).</summary>
public sealed record ClassMetric(string Name, double IoU, double Accuracy);
