using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Runtime;
using Segmenter.Inference.Imaging;
using static TorchSharp.torch;

namespace Segmenter.Training.Evaluation;

/// <summary>
/// A K × K confusion matrix (rows: ground truth, columns: prediction) accumulated over a dataset;
/// pixels labelled 255 are ignored. Per class: IoU = I / (P + G − I), accuracy = I / G; a class whose
/// union (for IoU) or ground truth (for accuracy) is empty is NaN and left out of the mean.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] counts;

    /// <summary>An empty matrix for <paramref name="classes"/> classes.</summary>
    public ConfusionMatrix(int classes)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes));
        Classes = classes;
        counts = new long[classes * classes];
    }

    /// <summary>K.</summary>
    public int Classes { get; }

    /// <summary>Pixels with ground truth <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => counts[truth * Classes + predicted];

    /// <summary>Adds predictions and labels of equal shape (any integer type; labels 255 ignored).</summary>
    public void Add(Tensor predictions, Tensor labels)
    {
        if (!predictions.shape.SequenceEqual(labels.shape))
            throw new ArgumentException($"predictions [{string.Join(", ", predictions.shape)}] and labels [{string.Join(", ", labels.shape)}] differ in shape");
        using var scope = NewDisposeScope();
        var truth = labels.to(ScalarType.Int64).flatten();
        var predicted = predictions.to(ScalarType.Int64).flatten();
        var valid = truth.ne(Scalars.Of((long)LabelMap.Ignore));
        var codes = truth.masked_select(valid).mul_(Scalars.Of((long)Classes)).PlusInPlace(predicted.masked_select(valid));
        if (codes.numel() == 0) return;
        if (codes.max().item<long>() >= Classes * (long)Classes || codes.min().item<long>() < 0)
            throw new ArgumentException($"labels or predictions outside 0–{Classes - 1} (and 255 for ignored labels)");
        var histogram = codes.bincount(null, Classes * Classes).cpu();
        var values = histogram.data<long>().ToArray();
        for (int i = 0; i < counts.Length; i++) counts[i] += values[i];
    }

    /// <summary>Adds label maps (ground truth, prediction) of equal size.</summary>
    public void Add(LabelMap truth, LabelMap prediction)
    {
        if (truth.Width != prediction.Width || truth.Height != prediction.Height)
            throw new ArgumentException($"ground truth {truth.Width}×{truth.Height} and prediction {prediction.Width}×{prediction.Height} differ in size");
        for (int i = 0; i < truth.Labels.Length; i++)
        {
            int t = truth.Labels[i];
            if (t == LabelMap.Ignore) continue;
            int p = prediction.Labels[i];
            if (t >= Classes || p >= Classes) throw new ArgumentException($"label {t} or prediction {p} is outside 0–{Classes - 1}");
            counts[t * Classes + p]++;
        }
    }

    /// <summary>The metrics, with <paramref name="classNames"/> naming the per-class rows.</summary>
    public SegmentationMetrics Compute(IReadOnlyList<string>? classNames = null)
    {
        long total = 0, correct = 0;
        var classes = new List<ClassMetric>();
        for (int c = 0; c < Classes; c++)
        {
            long intersection = counts[c * Classes + c];
            long truth = 0, predicted = 0;
            for (int j = 0; j < Classes; j++)
            {
                truth += counts[c * Classes + j];
                predicted += counts[j * Classes + c];
            }
            long union = truth + predicted - intersection;
            total += truth;
            correct += intersection;
            var name = classNames is not null && c < classNames.Count ? classNames[c] : $"class {c}";
            classes.Add(new ClassMetric(name, union == 0 ? double.NaN : (double)intersection / union, truth == 0 ? double.NaN : (double)intersection / truth));
        }
        return new SegmentationMetrics(
            total == 0 ? double.NaN : (double)correct / total,
            NanMean(classes.Select(c => c.IoU)),
            NanMean(classes.Select(c => c.Accuracy)),
            classes,
            total);
    }

    private static double NanMean(IEnumerable<double> values)
    {
        var defined = values.Where(v => !double.IsNaN(v)).ToList();
        return defined.Count == 0 ? double.NaN : defined.Average();
    }
}
