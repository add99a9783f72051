using System;
using Segmenter.Spec;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Segmenter.Tests;

namespace Segmenter.Runtime.Tests;

/// <summary>The hand-written runtime pieces on their own.</summary>
public sealed class RuntimeTests
{
    [Fact]
    public void Truncated_normal_has_the_requested_spread_and_bounds()
    {
        manual_seed(1);
        using var wide = empty(200_000);
        Initialization.TruncatedNormal(wide, std: 0.02);
        Assert.InRange(wide.std().item<float>(), 0.0198, 0.0202);
        Assert.InRange(wide.mean().item<float>(), -0.0002, 0.0002);

        // A standard normal truncated to [-1, 1] has standard deviation ≈ 0.5377.
        using var narrow = empty(200_000);
        Initialization.TruncatedNormal(narrow, std: 1.0, low: -1.0, high: 1.0);
        Assert.InRange(narrow.std().item<float>(), 0.53, 0.545);
        Assert.True(narrow.abs().max().item<float>() <= 1.0f);
    }

    [Fact]
    public void Drop_path_rates_rise_linearly_like_torch_linspace()
    {
        Assert.Equal(new[] { 0.0, 0.05, 0.1 }, DropPath.Rates(0.1, 3), new ToleranceComparer(1e-12));
        Assert.Equal(new[] { 0.0 }, DropPath.Rates(0.1, 1));
    }

    [Fact]
    public void Position_embeddings_keep_the_extra_tokens_and_resize_the_grid()
    {
        using var pos = arange(Scalars.Of(2L + 2 * 3), dtype: ScalarType.Float32).reshape(1, 8, 1).expand(1, 8, 4).contiguous();
        using var same = PositionEmbedding.Resample(pos, 2, 2, 3, 2, 3, ResizeMode.Bilinear);
        Assert.Same(pos, same);
        using var resized = PositionEmbedding.Resample(pos, 2, 2, 3, 4, 6, ResizeMode.Bilinear);
        Assert.Equal(new long[] { 1, 2 + 24, 4 }, resized.shape);
        Assert.Equal(new[] { 0f, 1f }, resized[0, TensorIndex.Slice(0, 2), 0].data<float>().ToArray());
        // Corners of an align_corners=false upsampling by 2 equal the source corners.
        Assert.Equal(2f, resized[0, 2, 0].item<float>());
        Assert.Equal(7f, resized[0, 2 + 23, 0].item<float>());
    }

    [Theory]
    [InlineData(4, 5, 64, 80)]
    [InlineData(3, 7, 37, 45)]
    [InlineData(32, 32, 512, 512)]
    [InlineData(6, 6, 6, 13)]
    [InlineData(20, 20, 10, 30)]
    [InlineData(1, 4100, 2, 4101)]   // past the largest interpolation matrix (4101 × 4100): the kernel
    public void Bilinear_resizing_equals_torchs_align_corners_false_interpolation(int inHeight, int inWidth, int height, int width)
    {
        using var maps = randn(2, 5, inHeight, inWidth);
        using var fast = Resize.Bilinear(maps, height, width);
        using var reference = nn.functional.interpolate(maps, new long[] { height, width }, mode: InterpolationMode.Bilinear, align_corners: false);
        Assert.Equal(reference.shape, fast.shape);
        TensorAssert.Below(fast.sub(reference), 1e-5);
    }

    [Theory]
    [InlineData(7, 9, 141, 50)]      // several bands, the last one short
    [InlineData(1, 5, 33, 17)]       // one source row
    [InlineData(12, 12, 12, 37)]     // only the width grows
    [InlineData(30, 20, 97, 61)]
    [InlineData(10, 10, 10, 10)]     // the same size: the argmax itself
    [InlineData(20, 20, 10, 30)]     // a reduction: through Bilinear
    public void Banded_upsampling_argmax_equals_the_argmax_of_the_upsampled_maps(int inHeight, int inWidth, int height, int width)
    {
        manual_seed(3);
        using var maps = randn(1, 6, inHeight, inWidth);
        using var labels = Resize.BilinearArgmax(maps, height, width);
        using var resized = Resize.Bilinear(maps, height, width);
        using var expected = resized.argmax(1)[0];
        Assert.Equal(new long[] { height, width }, labels.shape);
        Assert.Equal(ScalarType.Int64, labels.dtype);
        // Labels may differ only where the best two classes tie to float rounding.
        using var top = resized[0].topk(2, dim: 0).values;
        using var gap = top[0].sub(top[1]);
        using var differ = labels.ne(expected);
        Assert.Equal(0L, differ.logical_and(gap.gt(Scalars.Of(1e-5))).sum().item<long>());
        Assert.True(differ.sum().item<long>() <= height * width / 1000, $"{differ.sum().item<long>()} labels differ");
    }

    [Fact]
    public void Banded_upsampling_argmax_keeps_the_first_of_tied_classes_and_refuses_a_batch()
    {
        using var tied = zeros(1, 4, 3, 3);
        using var labels = Resize.BilinearArgmax(tied, 7, 8);
        Assert.Equal(0L, labels.max().item<long>());
        using var two = randn(2, 3, 4, 4);
        Assert.Contains("one image", Assert.Throws<ArgumentException>(() => Resize.BilinearArgmax(two, 8, 8)).Message);
    }

    [Fact]
    public void Padding_pads_right_and_bottom_with_zeros_and_crops_back()
    {
        using var images = ones(1, 3, 5, 7);
        using var padded = PatchPadding.ToMultiple(images, 4);
        Assert.Equal(new long[] { 1, 3, 8, 8 }, padded.shape);
        Assert.Equal(5 * 7 * 3, padded.sum().item<float>());
        Assert.Equal(1f, padded[0, 0, 4, 6].item<float>());
        Assert.Equal(0f, padded[0, 0, 5, 6].item<float>());
        using var cropped = PatchPadding.Crop(padded, 5, 7);
        Assert.Equal(new long[] { 1, 3, 5, 7 }, cropped.shape);
        Assert.Same(images, PatchPadding.ToMultiple(images, 1));
    }

    [Theory]
    [InlineData(1025)]   // 32 × 32 patches and the class token: one row beyond four blocks
    [InlineData(1174)]   // the mask decoder's 1024 patches and 150 classes
    [InlineData(700)]    // below three blocks: one call
    public void Attention_split_across_threads_computes_what_one_call_does(int tokens)
    {
        manual_seed(3);
        using var attention = new SelfAttention(192, 3, 0.0);
        using var x = randn(1, tokens, 192);   // three (image, head) pairs: two threads cannot share them evenly
        int threads = get_num_threads();
        try
        {
            set_num_threads(1);
            using var single = Outputs(attention, x);
            set_num_threads(2);
            using var split = Outputs(attention, x);
            Assert.True(single.allclose(split, rtol: 0, atol: 1e-5), $"largest difference {(single - split).abs().max().item<float>()}");
        }
        finally
        {
            set_num_threads(threads);
        }

        // The output and the gradient of the input, in training (no dropout: the fused kernel).
        static Tensor Outputs(SelfAttention attention, Tensor x)
        {
            attention.train();
            using var input = x.detach().requires_grad_(true);
            using var scope = NewDisposeScope();
            var y = attention.call(input);
            y.square().sum().backward();
            return cat(new[] { y.detach().flatten(), input.grad!.flatten() }, 0).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void Devices_parse_and_explain_what_is_missing()
    {
        Assert.Equal(DeviceType.CPU, Devices.Parse("cpu").type);
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, Devices.Parse("auto").type);
        if (!cuda.is_available())
            Assert.Contains("SegmenterTorchBackend=cuda", Assert.Throws<ArgumentException>(() => Devices.Parse("cuda")).Message);
        Assert.Contains("use cpu, cuda, cuda:N or auto", Assert.Throws<ArgumentException>(() => Devices.Parse("tpu")).Message);
    }

    private sealed class ToleranceComparer : System.Collections.Generic.IEqualityComparer<double>
    {
        private readonly double tolerance;
        public ToleranceComparer(double tolerance) => this.tolerance = tolerance;
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
