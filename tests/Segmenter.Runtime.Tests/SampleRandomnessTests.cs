using System;
using System.Linq;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>Dropout and drop-path masks drawn per sample: a sample's mask depends on its own generator, not on its batch.</summary>
public sealed class SampleRandomnessTests
{
    private static Generator[] Generators(params long[] seeds) => seeds.Select(s => new Generator((ulong)s)).ToArray();

    [Theory]
    [InlineData("drop_path")]
    [InlineData("dropout")]
    public void A_samples_mask_is_the_same_alone_or_in_a_batch(string kind)
    {
        using nn.Module<Tensor, Tensor> layer = kind == "drop_path" ? new DropPath(0.5) : new SampleDropout(0.5);
        layer.train();
        using var x = ones(8, 6, 8);
        Tensor batch;
        using (SampleRandomness.Use(Generators(1, 2, 3, 4, 5, 6, 7, 8))) batch = layer.call(x);
        for (int i = 0; i < 8; i++)
        {
            using var one = SampleRandomness.Use(Generators(i + 1));
            using var alone = layer.call(x[i..(i + 1)]);
            Assert.True(alone.eq(batch[i..(i + 1)]).all().item<bool>(), $"sample {i}: its mask changed with the batch");
        }
        // Kept elements are scaled by 1 / (1 − rate); some are dropped, some kept.
        var values = batch.flatten().data<float>().Distinct().Order().ToArray();
        Assert.Equal(new[] { 0f, 2f }, values);
        // Drop-path drops whole samples: one value per sample.
        if (kind == "drop_path") Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(1, batch[i].unique().Item1.numel()));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void A_rate_drops_that_share_of_the_elements(double rate)
    {
        using var layer = new SampleDropout(rate);
        layer.train();
        using var x = ones(2, 100_000);
        using (SampleRandomness.Use(Generators(7, 8)))
        {
            using var y = layer.call(x);
            double dropped = y.eq(Scalars.Of(0L)).to(ScalarType.Float64).mean().item<double>();
            Assert.InRange(dropped, rate - 0.01, rate + 0.01);
            Assert.Equal(1 / (1 - rate), y.max().item<float>(), 4);
        }
    }

    [Fact]
    public void A_mask_of_another_type_holds_the_same_draws()
    {
        var shape = new long[] { 2, 3, 1000 };
        Tensor single, reduced;
        using (SampleRandomness.Use(Generators(5, 6))) single = SampleRandomness.ScaledKeepMask(shape, 0.8, ScalarType.Float32, CPU);
        using (SampleRandomness.Use(Generators(5, 6))) reduced = SampleRandomness.ScaledKeepMask(shape, 0.8, ScalarType.BFloat16, CPU);
        Assert.Equal(ScalarType.BFloat16, reduced.dtype);
        Assert.True(single.to(ScalarType.BFloat16).eq(reduced).all().item<bool>());
        Assert.Equal(1.25f, single.max().item<float>());
        single.Dispose();
        reduced.Dispose();
    }

    [Fact]
    public void Without_generators_masks_come_from_the_global_generator()
    {
        using var layer = new SampleDropout(0.3);
        layer.train();
        using var x = ones(2, 50);
        manual_seed(9);
        using var first = layer.call(x);
        manual_seed(9);
        using var again = layer.call(x);
        Assert.True(first.eq(again).all().item<bool>());
        layer.eval();
        Assert.True(layer.call(x).eq(x).all().item<bool>(), "no dropout in evaluation");
    }

    [Fact]
    public void A_batch_of_another_size_than_the_generators_is_refused()
    {
        using var layer = new DropPath(0.2);
        layer.train();
        using var scope = SampleRandomness.Use(Generators(1, 2));
        var error = Assert.Throws<InvalidOperationException>(() => layer.call(ones(3, 4)));
        Assert.Contains("3 samples", error.Message);
        Assert.Contains("2 per-sample generators", error.Message);
    }

    [Fact]
    public void The_generators_hold_on_this_thread_only_and_until_disposed()
    {
        using var layer = new SampleDropout(0.5);
        layer.train();
        using var x = ones(2, 64);
        using (SampleRandomness.Use(Generators(1, 2)))
        {
            // Another thread draws from the global generator, so a batch of 3 is fine there.
            long other = 0;
            var thread = new System.Threading.Thread(() => other = layer.call(ones(3, 64)).shape[0]);
            thread.Start();
            thread.Join();
            Assert.Equal(3, other);
        }
        Assert.Equal(3, layer.call(ones(3, 64)).shape[0]);   // disposed: the global generator again
    }
}
