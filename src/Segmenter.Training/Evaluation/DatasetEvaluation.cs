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
/// split: predictions for every image, metrics accumulated over all of them; or two such predictors side by side
/// (<see cref="Compare"/>: an int8 or bf16 run against its float32 baseline).
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
        Run(Probabilities(model, options, device), null, model.Specification, dataset, onImage, onPrediction).Metrics;

    /// <summary>
    /// The same for <paramref name="logitsOf"/>, a function from a batch of normalised images [B, 3, H, W] (CPU) to logits at
    /// their size — an ONNX Runtime session, for example — of a model described by <paramref name="spec"/>.
    /// </summary>
    public static SegmentationMetrics Evaluate(Func<Tensor, Tensor> logitsOf, SegmenterSpec spec, SegmentationDataset dataset, InferenceOptions options,
        Action<int, int>? onImage = null, Action<int, LabelMap, LabelMap>? onPrediction = null) =>
        Run(Probabilities(logitsOf, options), null, spec, dataset, onImage, onPrediction).Metrics;

    /// <summary>
    /// Evaluates <paramref name="probabilitiesOf"/> and <paramref name="baselineOf"/> on the same images — each a function from
    /// one normalised image [1, 3, H, W] to class probabilities [1, classes, H, W] (<see cref="Probabilities(SegmenterModel,
    /// InferenceOptions, Device?)"/> makes one) — and returns both one's metrics and on how many pixels their classes agree;
    /// without a baseline, the first's metrics alone. <paramref name="onPrediction"/> sees the first's predictions.
    /// </summary>
    public static Agreement Compare(Func<Tensor, Tensor> probabilitiesOf, Func<Tensor, Tensor>? baselineOf, SegmenterSpec spec, SegmentationDataset dataset,
        Action<int, int>? onImage = null, Action<int, LabelMap, LabelMap>? onPrediction = null) =>
        Run(probabilitiesOf, baselineOf, spec, dataset, onImage, onPrediction);

    /// <summary><paramref name="model"/>'s class probabilities for one image with <paramref name="options"/>, on <paramref name="device"/>.</summary>
    public static Func<Tensor, Tensor> Probabilities(SegmenterModel model, InferenceOptions options, Device? device = null) =>
        image => SegmentationInference.Probabilities(model, device is null ? image : image.to(device), options);

    /// <summary>The class probabilities for one image with <paramref name="options"/>, from <paramref name="logitsOf"/> (see <see cref="Evaluate(Func{Tensor, Tensor}, SegmenterSpec, SegmentationDataset, InferenceOptions, Action{int, int}?, Action{int, LabelMap, LabelMap}?)"/>).</summary>
    public static Func<Tensor, Tensor> Probabilities(Func<Tensor, Tensor> logitsOf, InferenceOptions options) =>
        image => SegmentationInference.Probabilities(logitsOf, image, options);

    private static Agreement Run(Func<Tensor, Tensor> probabilitiesOf, Func<Tensor, Tensor>? baselineOf, SegmenterSpec spec, SegmentationDataset dataset,
        Action<int, int>? onImage, Action<int, LabelMap, LabelMap>? onPrediction)
    {
        if (dataset.NumClasses != spec.NumClasses)
            throw new ArgumentException($"the dataset has {dataset.NumClasses} classes but {spec.Name} predicts {spec.NumClasses}");
        var matrix = new ConfusionMatrix(spec.NumClasses);
        var baselineMatrix = baselineOf is null ? null : new ConfusionMatrix(spec.NumClasses);
        long agreeing = 0, pixels = 0;
        using var noGrad = no_grad();
        for (int i = 0; i < dataset.Count; i++)
        {
            var (image, labels) = dataset.Load(i);
            using var scope = NewDisposeScope();
            var input = ImageTensors.ToTensor(image, spec.Normalization);
            var truth = tensor(labels.Labels, new long[] { labels.Height, labels.Width }, ScalarType.Byte);
            var prediction = probabilitiesOf(input).argmax(1)[0].cpu();
            matrix.Add(prediction, truth);
            if (baselineOf is not null)
            {
                var baseline = baselineOf(input).argmax(1)[0].cpu();
                baselineMatrix!.Add(baseline, truth);
                agreeing += prediction.eq(baseline).sum().item<long>();
                pixels += prediction.numel();
            }
            onPrediction?.Invoke(i, ImageTensors.ToLabelMap(prediction), labels);
            onImage?.Invoke(i + 1, dataset.Count);
        }
        return new Agreement(matrix.Compute(dataset.ClassNames), baselineMatrix?.Compute(dataset.ClassNames), agreeing, pixels);
    }
}

/// <summary>
/// Two predictors on the same images (<see cref="DatasetEvaluation.Compare"/>): each one's metrics, and the pixels — all of
/// them, labelled or not — whose predicted classes are the same.
/// </summary>
/// <param name="Metrics">The evaluated predictor's metrics.</param>
/// <param name="BaselineMetrics">The baseline's metrics (null when there was none).</param>
/// <param name="AgreeingPixels">Pixels where both predicted the same class.</param>
/// <param name="Pixels">Pixels compared.</param>
public sealed record Agreement(SegmentationMetrics Metrics, SegmentationMetrics? BaselineMetrics, long AgreeingPixels, long Pixels)
{
    /// <summary>The share of the pixels compared where the two agree (NaN when none were).</summary>
    public double Share => Pixels == 0 ? double.NaN : (double)AgreeingPixels / Pixels;
}
