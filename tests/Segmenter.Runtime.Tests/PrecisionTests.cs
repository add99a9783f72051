using System.Linq;
using Segmenter.Tests;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>bfloat16 matrix products: close to float32 at inference, and in training with gradients reaching the float32 master weights.</summary>
public sealed class PrecisionTests
{
    [Theory]
    [InlineData("TinyLinear")]
    [InlineData("TinyMask")]
    public void Bf16_products_stay_close_to_float32_and_train_the_float32_weights(string name)
    {
        using var model = TestModels.Get(name).Create(null);
        model.eval();
        manual_seed(3);
        using var images = randn(2, 3, 48, 40);
        using var full = model.Predict(images);

        model.SetPrecision(ComputePrecision.BFloat16);
        Assert.Equal(ComputePrecision.BFloat16, model.Precision);
        using var reduced = model.Predict(images);
        Assert.Equal(ScalarType.Float32, reduced.dtype);
        double difference = (reduced - full).abs().max().item<float>();
        double scale = full.abs().max().item<float>();
        Assert.True(difference > 0, "the bf16 path did not run");
        Assert.True(difference < 0.05 * scale, $"bf16 logits differ by {difference} (float32 logits up to {scale})");
        double agreement = reduced.argmax(1).eq(full.argmax(1)).to(float64).mean().item<double>();
        Assert.True(agreement > 0.95, $"classes agree on {agreement:P1} of the pixels");

        // Training: the products in bf16 from the float32 weights cast at each call; gradients land on the float32 weights.
        model.train();
        var fc1 = model.named_parameters().First(p => p.name.EndsWith("mlp.fc1.weight")).parameter;
        Assert.Equal(ScalarType.Float32, fc1.dtype);
        using (var loss = model.call(images).square().mean())
            loss.backward();
        Assert.NotNull(fc1.grad);
        Assert.Equal(ScalarType.Float32, fc1.grad!.dtype);
        Assert.True(fc1.grad.abs().sum().item<float>() > 0, "no gradient reached the float32 weights");
        Assert.True(fc1.grad.isfinite().all().item<bool>());

        model.SetPrecision(ComputePrecision.Float32);
        model.eval();
        using var back = model.Predict(images);
        Assert.True(back.equal(full).all().item<bool>(), "float32 again after SetPrecision(Float32)");
    }
}
