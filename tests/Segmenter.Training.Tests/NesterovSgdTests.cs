using System;
using System.Linq;
using Segmenter.Runtime;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Training.Tests;

/// <summary>The optimiser's update rule, step by step, against values worked out by hand (PyTorch's SGD, dampening 0).</summary>
public sealed class NesterovSgdTests
{
    [Fact]
    public void Nesterov_steps_with_weight_decay_follow_pytorchs_rule()
    {
        using var p = new Parameter(tensor(new[] { 1.0f, -2.0f }));
        using var optimizer = new NesterovSgd(new[] { ("w", p) }, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01);

        // Step 1: g = ∇ + λp = [0.5, 1] + 0.01·[1, −2] = [0.51, 0.98]; the buffer starts as g; p −= lr·(g + μ·b) = lr·1.9·g.
        p.grad = tensor(new[] { 0.5f, 1.0f });
        optimizer.Step();
        double[] g1 = { 0.51, 0.98 };
        double[] p1 = { 1.0 - 0.1 * 1.9 * g1[0], -2.0 - 0.1 * 1.9 * g1[1] };
        AssertClose(p1, p);

        // Step 2: g = [0.2, −0.4] + 0.01·p1; b = 0.9·b + g; p −= lr·(g + 0.9·b).
        p.grad = tensor(new[] { 0.2f, -0.4f });
        optimizer.Step();
        double[] g2 = { 0.2 + 0.01 * p1[0], -0.4 + 0.01 * p1[1] };
        double[] b2 = { 0.9 * g1[0] + g2[0], 0.9 * g1[1] + g2[1] };
        AssertClose(new[] { p1[0] - 0.1 * (g2[0] + 0.9 * b2[0]), p1[1] - 0.1 * (g2[1] + 0.9 * b2[1]) }, p);
        var state = optimizer.State().Single();
        Assert.Equal(NesterovSgd.StatePrefix + "w", state.Key);
        AssertClose(b2, state.Value);
    }

    [Fact]
    public void Plain_momentum_steps_by_the_buffer_and_parameters_without_gradients_stay()
    {
        using var p = new Parameter(tensor(new[] { 3.0f }));
        using var untouched = new Parameter(tensor(new[] { 7.0f }));
        using var optimizer = new NesterovSgd(new[] { ("p", p), ("u", untouched) }, learningRate: 0.5, momentum: 0.5, nesterov: false);
        p.grad = tensor(new[] { 2.0f });
        optimizer.Step();                      // b = 2; p = 3 − 0.5·2 = 2
        AssertClose(new[] { 2.0 }, p);
        p.grad = tensor(new[] { 1.0f });
        optimizer.Step();                      // b = 0.5·2 + 1 = 2; p = 2 − 0.5·2 = 1
        AssertClose(new[] { 1.0 }, p);
        AssertClose(new[] { 7.0 }, untouched);
        Assert.Single(optimizer.State());
    }

    [Fact]
    public void Resuming_from_saved_buffers_continues_the_same_run()
    {
        using var straight = new Parameter(tensor(new[] { 1.0f, 2.0f }));
        using var resumed = new Parameter(tensor(new[] { 1.0f, 2.0f }));
        using var first = new NesterovSgd(new[] { ("w", straight) }, 0.1);
        using var second = new NesterovSgd(new[] { ("w", resumed) }, 0.1);
        float[][] gradients = { new[] { 1f, -1f }, new[] { 0.5f, 0.25f }, new[] { -2f, 1f } };

        foreach (var g in gradients)
        {
            straight.grad = tensor(g);
            first.Step();
        }
        resumed.grad = tensor(gradients[0]);
        second.Step();
        using var third = new NesterovSgd(new[] { ("w", resumed) }, 0.1);
        third.Load(second.State(), "checkpoint");
        foreach (var g in gradients.Skip(1))
        {
            resumed.grad = tensor(g);
            third.Step();
        }
        Assert.Equal(straight.data<float>().ToArray(), resumed.data<float>().ToArray());

        using var wrong = new Parameter(tensor(new[] { 1.0f, 2.0f, 3.0f }));
        using var mismatched = new NesterovSgd(new[] { ("w", wrong) }, 0.1);
        var error = Assert.Throws<System.IO.InvalidDataException>(() => mismatched.Load(first.State(), "run/last.safetensors"));
        Assert.Contains("'w' is [2], but the parameter is [3]", error.Message);

        // Momentum that is not finite floating point is a damaged file; the buffers already held stay.
        using var nan = tensor(new[] { float.NaN, 0f });
        var notFinite = Assert.Throws<System.IO.InvalidDataException>(() => third.Load(new[] { new System.Collections.Generic.KeyValuePair<string, Tensor>(NesterovSgd.StatePrefix + "w", nan) }, "run/last.safetensors"));
        Assert.Contains("'w' holds NaN or infinite values", notFinite.Message);
        using var huge = tensor(new[] { 1e300, 0.0 });   // finite in float64, infinite in the parameter's float32
        Assert.Contains("'w' holds NaN or infinite values", Assert.Throws<System.IO.InvalidDataException>(
            () => third.Load(new[] { new System.Collections.Generic.KeyValuePair<string, Tensor>(NesterovSgd.StatePrefix + "w", huge) }, "run/last.safetensors")).Message);
        using var whole = tensor(new[] { 1, 2 });
        Assert.Contains("'w' is Int32; momentum is floating point", Assert.Throws<System.IO.InvalidDataException>(
            () => third.Load(new[] { new System.Collections.Generic.KeyValuePair<string, Tensor>(NesterovSgd.StatePrefix + "w", whole) }, "run/last.safetensors")).Message);
        Assert.True(third.State().Single().Value.isfinite().all().item<bool>());

        // All or nothing: a valid buffer loaded beside a damaged one does not replace the one held.
        using var a = new Parameter(tensor(new[] { 1.0f, 2.0f }));
        using var b = new Parameter(tensor(new[] { 3.0f, 4.0f }));
        using var pair = new NesterovSgd(new[] { ("a", a), ("b", b) }, 0.1);
        a.grad = tensor(new[] { 1.0f, 1.0f });
        b.grad = tensor(new[] { 1.0f, 1.0f });
        pair.Step();
        var held = pair.State().ToDictionary(s => s.Key, s => s.Value.data<float>().ToArray());
        using var fresh = tensor(new[] { 7.0f, 7.0f });
        Assert.Throws<System.IO.InvalidDataException>(() => pair.Load(new[]
        {
            new System.Collections.Generic.KeyValuePair<string, Tensor>(NesterovSgd.StatePrefix + "a", fresh),
            new System.Collections.Generic.KeyValuePair<string, Tensor>(NesterovSgd.StatePrefix + "b", nan),
        }, "run/last.safetensors"));
        Assert.Equal(held, pair.State().ToDictionary(s => s.Key, s => s.Value.data<float>().ToArray()));
    }

    [Theory]
    [InlineData(true, 0.01)]
    [InlineData(true, 0.0)]
    [InlineData(false, 0.05)]
    public void The_one_pass_update_rounds_as_libtorchs_operations_do(bool nesterov, double weightDecay)
    {
        // Once a parameter has a momentum buffer, contiguous float32 parameters are updated in one pass of the project's own;
        // the result must be libtorch's to the bit (100,003 elements: whole vectors, two pieces and a tail).
        manual_seed(7);
        using var start = randn(100_003);
        using var gradient = randn(100_003);
        using var buffer = randn(100_003);
        using var p = new Parameter(start.clone());
        using var optimizer = new NesterovSgd(new[] { ("w", p) }, learningRate: 0.05, momentum: 0.9, weightDecay: weightDecay, nesterov: nesterov);
        optimizer.Load(new[] { new System.Collections.Generic.KeyValuePair<string, Tensor>(NesterovSgd.StatePrefix + "w", buffer) }, "test");
        p.grad = gradient.clone();
        optimizer.Step();

        using var g = weightDecay != 0 ? gradient.add(start, Scalars.Of(weightDecay)) : gradient.clone();
        using var b = buffer.mul(Scalars.Of(0.9)).add_(g, Scalars.One);
        using var direction = nesterov ? g.add(b, Scalars.Of(0.9)) : b.clone();
        using var expected = start.add(direction, Scalars.Of(-0.05));
        // libtorch's vector kernels add with a factor by a fused multiply-add where the CPU has one (AVX2 and later); elsewhere
        // its products may be rounded apart, a float's last place.
        double tolerance = System.Runtime.Intrinsics.X86.Fma.IsSupported ? 0 : 1e-6;
        AssertWithin(expected, p.detach(), tolerance);
        AssertWithin(b, optimizer.State().Single().Value, tolerance);
    }

    private static void AssertWithin(Tensor expected, Tensor actual, double relative)
    {
        var e = expected.data<float>().ToArray();
        var a = actual.data<float>().ToArray();
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= relative * Math.Abs(e[i]), $"element {i}: libtorch gives {e[i]:R}, the one-pass update {a[i]:R}");
    }

    private static void AssertClose(double[] expected, Tensor actual)
    {
        var values = actual.detach().to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(expected[i] - values[i]) <= 1e-6, $"element {i}: expected {expected[i]}, got {values[i]}");
    }
}
