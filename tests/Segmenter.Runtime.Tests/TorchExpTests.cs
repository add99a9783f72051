using System;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>The project's 16-lane exponential that libtorch's AVX-512 kernels call in place of SLEEF's (<see cref="TorchExp"/>).</summary>
public sealed class TorchExpTests
{
    [Fact]
    public void Libtorch_calls_the_projects_exponential_wherever_it_calls_a_16_lane_one()
    {
        NativeSettings.Apply();
        var kept = string.Equals(Environment.GetEnvironmentVariable(TorchExp.EnvironmentVariable), "sleef", StringComparison.OrdinalIgnoreCase);
        var expected = !TorchExp.IsApplicable ? TorchExpState.NotApplicable : kept ? TorchExpState.KeptByUser : TorchExpState.Replaced;
        Assert.Equal(expected, TorchExp.State);
        Assert.Equal(expected, TorchExp.Apply());   // idempotent
    }

    [Fact]
    public void The_exponential_is_within_one_ulp_and_keeps_the_special_values()
    {
        if (!TorchExp.IsApplicable)
        {
            Assert.Throws<PlatformNotSupportedException>(() => TorchExp.Map(new float[16], new float[16]));
            return;
        }
        const int count = 1 << 20;
        var input = new float[count];
        for (int i = 0; i < count; i++) input[i] = -110f + 200f * i / count;   // past both ends: 0 and +inf
        float[] special = { float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f, -0f, 88.72f, 88.73f, -87.3f, -103.9f, -104.5f, 1e-30f, -1e-30f, 1f, -1f, 0.5f, -0.3466f };
        special.CopyTo(input, 0);
        var output = new float[count];
        TorchExp.Map(input, output);

        double worst = 0;
        for (int i = 0; i < count; i++)
        {
            double exact = Math.Exp(input[i]);
            float rounded = (float)exact;
            if (float.IsNaN(input[i])) { Assert.True(float.IsNaN(output[i]), "exp(NaN) must be NaN"); continue; }
            if (float.IsInfinity(rounded) || rounded == 0f || !float.IsNormal(rounded))
            {
                // Overflow, underflow and subnormal results: the nearest float, or its neighbour in the subnormal range.
                Assert.True(Math.Abs(output[i] - exact) <= 1.5e-45 || output[i] == rounded, $"exp({input[i]}) = {output[i]}, expected {rounded}");
                continue;
            }
            double ulp = MathF.BitIncrement(rounded) - rounded;
            worst = Math.Max(worst, Math.Abs(output[i] - exact) / ulp);
        }
        Assert.True(worst <= 1.0, $"largest error {worst:F3} ulp");
        Assert.Equal(1f, output[3]);
        Assert.Equal(float.PositiveInfinity, output[1]);
        Assert.Equal(0f, output[0]);
    }

    [Fact]
    public void Fused_attention_gradients_equal_explicit_attention_in_double_precision()
    {
        // 300 tokens: libtorch's fused kernel (blocks of 64 queries, 512 keys), whose backward takes its exponentials 16 lanes
        // at a time on an AVX-512 machine — through the project's function once NativeSettings.Apply has run.
        NativeSettings.Apply();
        var generator = new Generator(5);
        using var q = randn(new long[] { 2, 3, 300, 64 }, generator: generator).requires_grad_();
        using var k = randn(new long[] { 2, 3, 300, 64 }, generator: generator).requires_grad_();
        using var v = randn(new long[] { 2, 3, 300, 64 }, generator: generator).requires_grad_();
        using var weight = randn(new long[] { 2, 3, 300, 64 }, generator: generator);
        using (var fused = nn.functional.scaled_dot_product_attention(q, k, v))
        using (var loss = (fused * weight).sum())
            loss.backward();

        using var q64 = q.detach().to(float64).requires_grad_();
        using var k64 = k.detach().to(float64).requires_grad_();
        using var v64 = v.detach().to(float64).requires_grad_();
        using (var scores = q64.matmul(k64.transpose(-2, -1)) / 8.0)
        using (var explicitAttention = scores.softmax(-1).matmul(v64))
        using (var loss64 = (explicitAttention * weight.to(float64)).sum())
            loss64.backward();

        foreach (var (got, want, name) in new[] { (q.grad!, q64.grad!, "q"), (k.grad!, k64.grad!, "k"), (v.grad!, v64.grad!, "v") })
        {
            double error = (got.to(float64) - want).abs().max().item<double>();
            double scale = want.abs().max().item<double>();
            Assert.True(error <= 1e-5 * scale, $"d{name}: largest error {error} against gradients up to {scale}");
        }
    }
}
