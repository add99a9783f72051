using System;
using Segmenter.Runtime;
using Segmenter.Training.Data;
using Segmenter.Inference.Imaging;
using Segmenter.Inference;
using static TorchSharp.torch;

namespace Segmenter.Training.Evaluation;

/// <summary>Evaluates a model over a dataset split: predictions for every image, metrics accumulated over all of them.</summary>
public static class DatasetEvaluation
{
    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="dataset"/> with <paramref name="options"/> on <paramref name="device"/>
    /// and returns the dataset-level metrics. <paramref name="onImage"/> is told after each image (for progress).
    /// </summary>
    public static SegmentationMetrics Evaluate(SegmenterModel model, SegmentationDataset dataset, InferenceOptions options, Device? device = null,
        Action<int, int>? onImage = null)
    {
        var spec = model.Specification;
        if (dataset.NumClasses != spec.NumClasses)
            throw new ArgumentException($"the dataset has {dataset.NumClasses} classes but {spec.Name} predicts {spec.NumClasses}");
        var matrix = new ConfusionMatrix(spec.NumClasses);
        for (int i = 0; i < dataset.Count; i++)
        {
            var (image, labels) = dataset.Load(i);
            using var scope = NewDisposeScope();
            var input = ImageTensors.ToTensor(image, spec.Normalization);
            if (device is not null) input = input.to(device);
            var prediction = SegmentationInference.Probabilities(model, input, options).argmax(1)[0];
            matrix.Add(prediction.cpu(), tensor(labels.Labels, new long[] { labels.Height, labels.Width }, ScalarType.Byte));
            onImage?.Invoke(i + 1, dataset.Count);
        }
        return matrix.Compute(dataset.ClassNames);
    }
}
