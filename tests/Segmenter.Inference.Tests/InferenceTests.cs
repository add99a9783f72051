using System;
using Segmenter.Runtime;
using Xunit;
using static TorchSharp.torch;
using Segmenter.Tests;

namespace Segmenter.Inference.Tests;

/// <summary>Whole-image, sliding-window and multi-scale inference as the authors' code runs them.</summary>
public sealed class InferenceTests
{
    [Theory]
    [InlineData(100, 40, 30, new long[] { 0, 30, 60 })]
    [InlineData(100, 40, 20, new long[] { 0, 20, 40, 60 })]
    [InlineData(40, 40, 30, new long[] { 0 })]
    [InlineData(1024, 512, 512, new long[] { 0, 512 })]
    [InlineData(683, 512, 341, new long[] { 0, 171 })]
    public void Window_starts_are_stride_multiples_below_size_minus_window_then_size_minus_window(long size, int window, int stride, long[] expected) =>
        Assert.Equal(expected, SegmentationInference.Starts(size, window, stride));

    [Fact]
    public void Label_maps_take_classes_0_to_255_and_refuse_larger_ones_rather_than_wrap_them()
    {
        using var fits = tensor(new long[] { 0, 7, 255, 3 }).view(2, 2);
        Assert.Equal(new byte[] { 0, 7, 255, 3 }, Segmenter.Inference.Imaging.ImageTensors.ToLabelMap(fits).Labels);
        using var large = tensor(new long[] { 0, 300, 2, 3 }).view(2, 2);
        var error = Assert.Throws<ArgumentException>(() => Segmenter.Inference.Imaging.ImageTensors.ToLabelMap(large));
        Assert.Equal("class 300 does not fit a label map, which holds classes 0 to 255", error.Message);
    }

    [Fact]
    public void One_window_covering_the_image_gives_the_whole_image_result()
    {
        using var model = TestModels.Get("TinyMask").Create(null);
        model.eval();
        using var noGrad = no_grad();
        using var image = randn(1, 3, 64, 64);
        using var whole = SegmentationInference.Probabilities(model, image, new InferenceOptions(InferenceMode.Whole, 64, 64));
        using var slide = SegmentationInference.Probabilities(model, image, new InferenceOptions(InferenceMode.Slide, 64, 32));
        TensorAssert.Below(whole.sub(slide), 1e-6);
        TensorAssert.Below(whole.sum(1).sub(Scalars.One), 1e-5);
    }

    [Fact]
    public void Overlapping_windows_average_their_logits()
    {
        // A "model" whose logits are its input's first channel: averaging windows must give the input back.
        Tensor Identity(Tensor images) => images.narrow(1, 0, 1).repeat(1, 2, 1, 1);
        using var image = randn(1, 3, 70, 90);
        using var logits = SegmentationInference.SlideLogits(Identity, image, 40, 25);
        using var expected = Identity(image);
        TensorAssert.Below(logits.sub(expected), 1e-5);
    }

    [Fact]
    public void A_short_side_below_the_window_is_upsampled_to_the_window()
    {
        using var image = randn(1, 3, 32, 48);
        using var upsampled = SegmentationInference.UpsampleShortSide(image, 64);
        Assert.Equal(new long[] { 1, 3, 64, 96 }, upsampled.shape);
        Tensor Constant(Tensor images) => zeros(images.shape[0], 3, images.shape[2], images.shape[3]);
        using var probabilities = SegmentationInference.Probabilities(Constant, image, new InferenceOptions(InferenceMode.Slide, 64, 32));
        Assert.Equal(new long[] { 1, 3, 32, 48 }, probabilities.shape);
    }

    [Fact]
    public void Multi_scale_averages_the_softmax_maps_of_every_scale_and_flip()
    {
        // Logits that depend on position, so scales and flips give different maps.
        Tensor Logits(Tensor images)
        {
            var x = images.narrow(1, 0, 1);
            var ramp = arange(Scalars.Of(images.shape[3]), dtype: ScalarType.Float32).div(Scalars.Of((double)images.shape[3])).reshape(1, 1, 1, -1);
            return cat(new[] { x, x.mul(ramp), ramp.expand_as(x) }, 1);
        }
        using var image = randn(1, 3, 40, 56);
        var options = new InferenceOptions(InferenceMode.MultiScale, 32, 16);
        using var probabilities = SegmentationInference.Probabilities(Logits, image, options);

        var expected = zeros(1, 3, 40, 56);
        foreach (var scale in InferenceOptions.Scales)
        {
            foreach (var flip in new[] { false, true })
            {
                var input = Resize.Bilinear(image, (long)Math.Round(40 * scale), (long)Math.Round(56 * scale));
                if (flip) input = input.flip(3);
                var logits = Resize.Bilinear(SegmentationInference.SlideLogits(Logits, input, 32, 16), 40, 56);
                if (flip) logits = logits.flip(3);
                expected = expected.add(logits.softmax(1), Scalars.One);
            }
        }
        expected = expected.div(Scalars.Of(2.0 * InferenceOptions.Scales.Count));
        TensorAssert.Below(probabilities.sub(expected), 1e-5);
    }

    [Theory]
    [InlineData(10, 10, 100, 10, 10)]                           // within the limit: its own size
    [InlineData(4000, 3000, 4L * 1024 * 1024, 682, 512)]        // a 12-megapixel photo: the short side at the window
    [InlineData(2100, 2000, 4L * 1024 * 1024, 537, 512)]
    [InlineData(4000, 3000, 100_000, 365, 273)]                 // the window's size would exceed the limit
    [InlineData(1, 5000, 100, 1, 100)]
    [InlineData(3, 3, 1, 1, 1)]
    public void The_run_size_keeps_the_aspect_within_the_limit(int height, int width, long maxPixels, int expectedHeight, int expectedWidth)
    {
        var (h, w) = SegmentationInference.RunSize(height, width, maxPixels, 512);
        Assert.Equal((expectedHeight, expectedWidth), (h, w));
        Assert.True((long)h * w <= maxPixels);
    }
}
