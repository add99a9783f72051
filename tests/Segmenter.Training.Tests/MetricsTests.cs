using System;
using System.Linq;
using Segmenter.Inference.Imaging;
using Segmenter.Training.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Training.Tests;

/// <summary>Metrics against confusion matrices computed by hand.</summary>
public sealed class MetricsTests
{
    private static LabelMap Map(params byte[] values) => new(values.Length, 1, values);

    [Fact]
    public void Per_class_and_mean_metrics_follow_the_hand_computed_matrix()
    {
        // truth:      0 0 1 1 2 255      prediction: 0 1 1 1 0 2
        // matrix rows = truth: [1 1 0; 0 2 0; 1 0 0], the ignored pixel is not counted.
        var matrix = new ConfusionMatrix(3);
        matrix.Add(Map(0, 0, 1, 1, 2, 255), Map(0, 1, 1, 1, 0, 2));
        Assert.Equal(new long[] { 1, 1, 0, 0, 2, 0, 1, 0, 0 }, Enumerable.Range(0, 9).Select(i => matrix[i / 3, i % 3]));

        var metrics = matrix.Compute(new[] { "a", "b", "c" });
        Assert.Equal(5, metrics.Pixels);
        Assert.Equal(3.0 / 5, metrics.PixelAccuracy, 12);
        Assert.Equal(new[] { 1.0 / 3, 2.0 / 3, 0.0 }, metrics.Classes.Select(c => c.IoU), new Tolerance(1e-12));
        Assert.Equal(new[] { 0.5, 1.0, 0.0 }, metrics.Classes.Select(c => c.Accuracy), new Tolerance(1e-12));
        Assert.Equal(1.0 / 3, metrics.MeanIoU, 12);
        Assert.Equal(0.5, metrics.MeanAccuracy, 12);
        Assert.Equal("b", metrics.Classes[1].Name);
    }

    [Fact]
    public void Absent_classes_are_left_out_of_the_means_and_predicted_absent_classes_count_as_zero()
    {
        var matrix = new ConfusionMatrix(4);
        // Class 3 appears nowhere: NaN. Class 2 is predicted but never true: IoU 0, accuracy undefined.
        matrix.Add(Map(0, 0, 1, 1), Map(0, 2, 1, 1));
        var metrics = matrix.Compute();
        Assert.True(double.IsNaN(metrics.Classes[3].IoU) && double.IsNaN(metrics.Classes[3].Accuracy));
        Assert.Equal(0.0, metrics.Classes[2].IoU);
        Assert.True(double.IsNaN(metrics.Classes[2].Accuracy));
        Assert.Equal((0.5 + 1.0 + 0.0) / 3, metrics.MeanIoU, 12);
        Assert.Equal((0.5 + 1.0) / 2, metrics.MeanAccuracy, 12);
    }

    [Fact]
    public void Tensor_and_label_map_inputs_agree_and_accumulate_over_images()
    {
        var random = new Random(3);
        var fromMaps = new ConfusionMatrix(5);
        var fromTensors = new ConfusionMatrix(5);
        for (int image = 0; image < 3; image++)
        {
            var truth = Enumerable.Range(0, 400).Select(_ => random.Next(8) == 0 ? (byte)255 : (byte)random.Next(5)).ToArray();
            var prediction = Enumerable.Range(0, 400).Select(_ => (byte)random.Next(5)).ToArray();
            fromMaps.Add(new LabelMap(20, 20, truth), new LabelMap(20, 20, prediction));
            fromTensors.Add(tensor(prediction, new long[] { 20, 20 }), tensor(truth, new long[] { 20, 20 }));
        }
        Assert.Equal(fromMaps.Compute(), fromTensors.Compute(), new MetricsComparer());
        Assert.True(fromMaps.Compute().Pixels > 1000);
    }

    [Fact]
    public void Out_of_range_values_are_refused()
    {
        var matrix = new ConfusionMatrix(2);
        Assert.Throws<ArgumentException>(() => matrix.Add(Map(0, 5), Map(0, 1)));
        Assert.Throws<ArgumentException>(() => matrix.Add(tensor(new long[] { 0, 3 }), tensor(new long[] { 0, 1 })));
    }

    private sealed class Tolerance : System.Collections.Generic.IEqualityComparer<double>
    {
        private readonly double tolerance;
        public Tolerance(double tolerance) => this.tolerance = tolerance;
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }

    private sealed class MetricsComparer : System.Collections.Generic.IEqualityComparer<SegmentationMetrics>
    {
        public bool Equals(SegmentationMetrics? x, SegmentationMetrics? y) =>
            x!.Pixels == y!.Pixels && x.MeanIoU.Equals(y.MeanIoU) && x.PixelAccuracy.Equals(y.PixelAccuracy) && x.Classes.SequenceEqual(y.Classes);
        public int GetHashCode(SegmentationMetrics obj) => 0;
    }
}
