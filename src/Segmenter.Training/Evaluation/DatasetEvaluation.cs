using System;
using Segmenter.Inference;
using Segmenter.Inference.Imaging;
using Segmenter.Runtime;
using Segmenter.Spec;
using Segmenter.Training.Data;
using static TorchSharp.torch;

namespace Segmenter.Training.Evaluation;

/// <summary>
/// Evaluates a model — or anything that maps images to logits, such as an exported file in ONNX Runtime — over a dataset
/// split: predictions for every image, metrics accumulated over all of them.
/// </summary>
public static class DatasetEvaluation
{
    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="dataset"/> with <paramref name="options"/> on <paramref name="device"/>
    /// and returns the dataset-level metrics. <paramref name="onImage"/> is told after each image (for progress);
    /// <paramref name="onPrediction"/> gets each image's index, predicted labels and ground truth (for reports).
    /// </summary>
    public static SegmentationMetrics Evaluate(SegmenterModel model, SegmentationDataset dataset, InferenceOptions options, Device? device = null,
        Action<int, int>? onImage = null, Action<int, LabelMap, LabelMap>? onPrediction = null) =>
        Evaluate(image => SegmentationInference.Probabilities(model, device is null ? image : image.to(device), options), model.Specification, dataset,
            onImage, onPrediction);

    /// <summary>
    /// The same for <paramref name="logitsOf"/>, a function from a batch of normalised images [B, 3, H, W] (CPU) to logits at
    /// their size — an ONNX Runtime session, for example — of a model described by <paramref name="spec"/>.
    /// </summary>
    public static SegmentationMetrics Evaluate(Func<Tensor, Tensor> logitsOf, SegmenterSpec spec, SegmentationDataset dataset, InferenceOptions options,
        Action<int, int>? onImage = null, Action<int, LabelMap, LabelMap>? onPrediction = null) =>
        Evaluate(image => SegmentationInference.Probabilities(logitsOf, image, options), spec, dataset, onImage, onPrediction);

    private static SegmentationMetrics Evaluate(Func<Tensor, Tensor> probabilitiesOf, SegmenterSpec spec, SegmentationDataset dataset,
        Action<int, int>? onImage, Action<int, LabelMap, LabelMap>? onPrediction)
    {
        if (dataset.NumClasses != spec.NumClasses)
            throw new ArgumentException($"the dataset has {dataset.NumClasses} classes but {spec.Name} predicts {spec.NumClasses}");
        var matrix = new ConfusionMatrix(spec.NumClasses);
        using var noGrad = no_grad();
        for (int i = 0; i < dataset.Count; i++)
        {
            var (image, labels) = dataset.Load(i);
            using var scope = NewDisposeScope();
            var prediction = probabilitiesOf(ImageTensors.ToTensor(image, spec.Normalization)).argmax(1)[0].cpu();
            matrix.Add(prediction, tensor(labels.Labels, new long[] { labels.Height, labels.Width }, ScalarType.Byte));
            onPrediction?.Invoke(i, ImageTensors.ToLabelMap(prediction), labels);
            onImage?.Invoke(i + 1, dataset.Count);
        }
        return matrix.Compute(dataset.ClassNames);
    }
}
