using System;
using System.Linq;
using Segmenter.Runtime;
using Segmenter.Tests;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Training.Tests;

/// <summary>The fused training loss against the composition it replaces: upsample, crop, cross-entropy.</summary>
public sealed class UpsampledCrossEntropyTests
{
    private const long Ignore = 255;

    private static (Tensor PatchLogits, Tensor Labels) Case(long batch, long classes, long height, long width, long labelHeight, long labelWidth, double ignored, int seed)
    {
        manual_seed(seed);
        var patchLogits = randn(batch, classes, height, width).mul_(Scalars.Of(4.0)).requires_grad_(true);
        var labels = randint(0, classes, new[] { batch, labelHeight, labelWidth });
        labels.masked_fill_(rand(batch, labelHeight, labelWidth).lt(Scalars.Of(ignored)), Scalars.Of(Ignore));
        return (patchLogits, labels);
    }

    private static (float Loss, Tensor Gradient) LossAndGradient(Func<Tensor> loss, Tensor patchLogits)
    {
        patchLogits.grad?.zero_();
        using var value = loss();
        value.backward();
        return (value.item<float>(), patchLogits.grad!.clone());
    }

    public static TheoryData<long, long, long, long, long, long, long, long, double, int> Shapes()
    {
        var data = new TheoryData<long, long, long, long, long, long, long, long, double, int>();
        foreach (int lanes in new[] { 16, 8, 4 })   // every vector width, whichever this machine has
        {
            data.Add(2, 150, 8, 8, 128, 128, 128, 128, 0.1, lanes);     // ADE20K's classes, patch 16, no crop
            data.Add(1, 5, 3, 4, 45, 60, 48, 64, 0.0, lanes);           // cropped from the padded size on both sides
            data.Add(2, 19, 7, 9, 100, 140, 112, 144, 0.3, lanes);      // odd grid, width not a multiple of any vector
            data.Add(1, 3, 1, 1, 8, 8, 8, 8, 0.0, lanes);               // one patch: every pixel blends the same row
            data.Add(1, 4, 5, 5, 5, 5, 5, 5, 0.2, lanes);               // no upsampling at all
            data.Add(1, 7, 3, 3, 96, 96, 96, 96, 0.1, lanes);           // patch 32: runs of rows longer than the kernel takes at once
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Loss_and_gradient_equal_the_composition(long batch, long classes, long height, long width, long labelHeight, long labelWidth, long paddedHeight, long paddedWidth, double ignored, int lanes)
    {
        using var scope = NewDisposeScope();
        var (patchLogits, labels) = Case(batch, classes, height, width, labelHeight, labelWidth, ignored, seed: (int)(classes + width));
        AssertEqualsComposition(patchLogits, labels, paddedHeight, paddedWidth, lanes);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    [InlineData(4)]
    public void Logits_far_apart_in_part_of_the_image_give_what_the_composition_gives(int lanes)
    {
        using var scope = NewDisposeScope();
        // In one corner the classes' logits lie hundreds apart, past what the kernel takes with one maximum for a run of
        // rows: there it takes each row's own.
        var (patchLogits, labels) = Case(1, 150, 6, 6, 96, 96, 0.1, seed: 13);
        using (no_grad()) patchLogits.narrow(2, 0, 3).narrow(3, 0, 3).mul_(Scalars.Of(40.0));
        AssertEqualsComposition(patchLogits, labels, 96, 96, lanes);
    }

    private static void AssertEqualsComposition(Tensor patchLogits, Tensor labels, long paddedHeight, long paddedWidth, int lanes)
    {
        var expected = LossAndGradient(() => UpsampledCrossEntropy.Composed(patchLogits, paddedHeight, paddedWidth, labels, Ignore), patchLogits);
        var actual = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, paddedHeight, paddedWidth, labels, Ignore, lanes), patchLogits);

        Assert.True(Math.Abs(expected.Loss - actual.Loss) <= 2e-6 * Math.Abs(expected.Loss), $"loss {actual.Loss:R}, composed {expected.Loss:R}");
        double largest = expected.Gradient.abs().max().item<float>();
        Assert.True(largest > 0, "the composed gradient is zero: the case tests nothing");
        TensorAssert.Below(actual.Gradient - expected.Gradient, 2e-5 * largest, "gradient difference");
    }

    [Fact]
    public void The_gradient_scales_with_what_is_back_propagated_into_the_loss()
    {
        using var scope = NewDisposeScope();
        var (patchLogits, labels) = Case(2, 6, 4, 4, 32, 32, 0.1, seed: 3);
        var once = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, 32, 32, labels, Ignore), patchLogits);
        var quarter = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, 32, 32, labels, Ignore).div(Scalars.Of(4.0)), patchLogits);
        Assert.Equal(once.Loss / 4, quarter.Loss, 6);
        TensorAssert.Below(quarter.Gradient.mul(Scalars.Of(4.0)) - once.Gradient, 1e-7);
    }

    [Fact]
    public void The_same_input_gives_the_same_bits()
    {
        using var scope = NewDisposeScope();
        var (patchLogits, labels) = Case(2, 150, 8, 8, 128, 128, 0.1, seed: 5);
        var first = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, 128, 128, labels, Ignore), patchLogits);
        var second = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, 128, 128, labels, Ignore), patchLogits);
        Assert.Equal(first.Loss, second.Loss);
        Assert.True(first.Gradient.eq(second.Gradient).all().item<bool>(), "the gradient differs between two identical calls");
    }

    [Fact]
    public void Without_a_labelled_pixel_the_loss_is_nan_and_the_gradient_zero()
    {
        using var scope = NewDisposeScope();
        var patchLogits = randn(1, 4, 2, 2).requires_grad_(true);
        var labels = full(new long[] { 1, 16, 16 }, Scalars.Of(Ignore), dtype: ScalarType.Int64);
        var composed = UpsampledCrossEntropy.Composed(patchLogits, 16, 16, labels, Ignore).item<float>();
        var (loss, gradient) = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, 16, 16, labels, Ignore), patchLogits);
        Assert.True(float.IsNaN(composed), $"PyTorch's loss without labelled pixels was {composed}");
        Assert.True(float.IsNaN(loss), $"the loss without labelled pixels was {loss}");
        Assert.Equal(0, gradient.abs().max().item<float>());
    }

    [Fact]
    public void Non_finite_logits_give_the_loss_and_gradient_pytorch_gives()
    {
        using var scope = NewDisposeScope();
        var (patchLogits, labels) = Case(1, 4, 3, 3, 24, 24, 0.0, seed: 7);
        using (no_grad()) patchLogits[0, 2, 1, 1] = tensor(float.NaN);
        var (loss, gradient) = LossAndGradient(() => UpsampledCrossEntropy.Compute(patchLogits, 24, 24, labels, Ignore), patchLogits);
        Assert.True(float.IsNaN(loss), $"the loss of NaN logits was {loss}");
        Assert.True(gradient.isnan().any().item<bool>(), "the NaN did not reach the gradient, as PyTorch's would");
    }

    [Fact]
    public void A_label_that_is_not_a_class_is_refused_with_its_value()
    {
        using var scope = NewDisposeScope();
        var (patchLogits, labels) = Case(1, 4, 2, 2, 16, 16, 0.0, seed: 9);
        labels[0, 3, 5] = tensor(7L);
        var error = Assert.Throws<ArgumentException>(() => UpsampledCrossEntropy.Compute(patchLogits, 16, 16, labels, Ignore));
        Assert.Contains("label 7 is not a class of a 4-class model", error.Message);
    }

    [Fact]
    public void Labels_that_do_not_fit_the_logits_are_refused()
    {
        using var scope = NewDisposeScope();
        var patchLogits = randn(2, 4, 2, 2);
        Assert.Contains("larger than the upsampled logits", Assert.Throws<ArgumentException>(() =>
            UpsampledCrossEntropy.Compute(patchLogits, 16, 16, zeros(new long[] { 2, 17, 16 }, dtype: ScalarType.Int64), Ignore)).Message);
        Assert.Contains("expected labels [2, height, width]", Assert.Throws<ArgumentException>(() =>
            UpsampledCrossEntropy.Compute(patchLogits, 16, 16, zeros(new long[] { 1, 16, 16 }, dtype: ScalarType.Int64), Ignore)).Message);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() =>
            UpsampledCrossEntropy.Compute(patchLogits, 16, 16, zeros(new long[] { 2, 16, 16 }, dtype: ScalarType.Int32), Ignore)).Message);
    }

    [Theory]
    [InlineData("TinyLinear", 40, 56)]
    [InlineData("TinyMask", 33, 47)]
    public void A_models_training_loss_equals_cross_entropy_of_its_logits(string name, long height, long width)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var model = TestModels.Get(name).Create(null);
        model.eval();   // no dropout: both passes see the same network
        var images = randn(2, 3, height, width);
        var labels = randint(0, model.Specification.NumClasses, new[] { 2L, height, width });
        labels.masked_fill_(rand(2, height, width).lt(Scalars.Of(0.2)), Scalars.Of(Ignore));

        var parameters = model.parameters().Select(p => (Tensor)p).ToList();
        var expected = nn.functional.cross_entropy(model.call(images), labels, ignore_index: Ignore);
        var expectedGradients = autograd.grad(new[] { expected }, parameters);
        var actual = UpsampledCrossEntropy.Of(model, images, labels, Ignore);
        var actualGradients = autograd.grad(new[] { actual }, parameters);

        Assert.Equal(expected.item<float>(), actual.item<float>(), 5);
        for (int i = 0; i < parameters.Count; i++)
            TensorAssert.Below(actualGradients[i] - expectedGradients[i], 1e-5 * (1 + expectedGradients[i].abs().max().item<float>()), $"gradient of parameter {i}");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    [InlineData(4)]
    public void The_vector_exponential_is_within_two_ulp_of_the_exact_one(int lanes)
    {
        var values = new float[64 * 1024];
        for (int i = 0; i < values.Length; i++) values[i] = -87f * i / (values.Length - 1);
        var result = UpsampledCrossEntropy.Exp(values, lanes);
        double worst = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double exact = Math.Exp(values[i]);
            worst = Math.Max(worst, Math.Abs(result[i] - exact) / exact);
        }
        Assert.True(worst < 2.4e-7, $"largest relative error {worst:E2} with {lanes} lanes");
    }
}
