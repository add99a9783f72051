using System.Linq;
using Segmenter.Tests;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>bfloat16 matrix products at inference: close to float32, the same classes almost everywhere, float32 in training.</summary>
public sealed class PrecisionTests
{
    [Theory]
    [InlineData("TinyLinear")]
    [InlineData("TinyMask")]
    public void Bf16_inference_stays_close_to_float32_and_training_stays_float32(string name)
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

        model.train();   // training computes in float32 whatever the inference precision
        using (no_grad())
        {
            manual_seed(4);
            using var trainFull = model.call(images);
            model.SetPrecision(ComputePrecision.Float32);
            manual_seed(4);
            using var trainPlain = model.call(images);
            Assert.True(trainFull.equal(trainPlain).all().item<bool>());
        }
        model.eval();
        using var back = model.Predict(images);
        Assert.True(back.equal(full).all().item<bool>(), "float32 again after SetPrecision(Float32)");
    }
}
