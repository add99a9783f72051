using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Runtime;
using Segmenter.Tooling;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Training.Tests;

/// <summary>A training step with its batch split across threads computes what the batch in one pass computes.</summary>
public sealed class ShardedStepTests
{
    // Drop-path, encoder dropout and the mask decoder's dropout (attention weights included) all active: every random draw is per image.
    private const string Specs = """
        backbone Tiny2 { layers = 2 width = 48 heads = 2 }
        model Split { backbone = Tiny2 patch = 8 image = 32 classes = 5 decoder = mask(layers = 1, heads = 2, dropout = 0.2) drop_path = 0.3 dropout = 0.1 }
        """;

    private static readonly Lazy<ModelEntry> Split = new(() =>
    {
        var compilation = SpecCompiler.Compile(Specs);
        Assert.Empty(compilation.Diagnostics);
        return DynamicModels.Load(compilation.Models).Single();
    });

    private static readonly long[] Seeds = { 101, 202, 303 };

    private static (Tensor Images, Tensor Labels) Batch(bool secondUnlabelled = false)
    {
        manual_seed(17);
        var images = randn(3, 3, 32, 32);
        var labels = randint(0, 5, new long[] { 3, 32, 32 });
        labels[0, .., ..16] = tensor(255L);   // the images have different numbers of labelled pixels, so shards weigh differently
        labels[2, ..4] = tensor(255L);
        if (secondUnlabelled) labels[1] = tensor(255L);
        return (images, labels);
    }

    /// <summary>The model as created from seed 5, in training mode.</summary>
    private static SegmenterModel Model(ComputePrecision precision = ComputePrecision.Float32)
    {
        manual_seed(5);
        var model = Split.Value.Create(null);
        model.train();
        model.SetPrecision(precision);
        return model;
    }

    /// <summary>The loss and each parameter's gradient after one step from the same initial weights, the batch split into <paramref name="shards"/>.</summary>
    private static (double Loss, Dictionary<string, Tensor> Gradients) Step(int shards, long[] seeds, bool secondUnlabelled = false, ComputePrecision precision = ComputePrecision.Float32)
    {
        using var model = Model(precision);
        var (images, labels) = Batch(secondUnlabelled);
        using var step = new ShardedStep(model, shards);
        double loss = step.Accumulate(images, labels, 0.5, seeds)!.Value;
        var gradients = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        return (loss, gradients);
    }

    private static void AssertSameStep((double Loss, Dictionary<string, Tensor> Gradients) expected, (double Loss, Dictionary<string, Tensor> Gradients) actual, string what,
        double tolerance = 1e-4)
    {
        Assert.True(Math.Abs(expected.Loss - actual.Loss) <= tolerance / 10 * Math.Abs(expected.Loss), $"{what}: loss {actual.Loss} against {expected.Loss}");
        Assert.Equal(expected.Gradients.Keys.Order(), actual.Gradients.Keys.Order());
        foreach (var (name, gradient) in expected.Gradients)
        {
            double scale = gradient.abs().max().item<float>();
            double difference = (gradient - actual.Gradients[name]).abs().max().item<float>();
            Assert.True(difference <= tolerance * scale + 1e-7, $"{what}: gradient of {name} differs by {difference:E2} (largest element {scale:E2})");
        }
    }

    [Fact]
    public void A_batch_split_in_two_or_three_gives_the_whole_batchs_loss_and_gradients()
    {
        var whole = Step(1, Seeds);
        Assert.True(whole.Gradients.Values.All(g => g.abs().sum().item<float>() > 0), "every parameter has a gradient");
        AssertSameStep(whole, Step(2, Seeds), "two shards");
        AssertSameStep(whole, Step(3, Seeds), "three shards");
    }

    [Fact]
    public void In_bfloat16_a_split_batch_gives_the_whole_batchs_loss_and_gradients()
    {
        // bfloat16 products round each shard's inputs as the whole batch's; what differs is float32 accumulation order.
        AssertSameStep(Step(1, Seeds, precision: ComputePrecision.BFloat16), Step(2, Seeds, precision: ComputePrecision.BFloat16), "two shards in bfloat16", tolerance: 1e-2);
    }

    [Fact]
    public void A_shard_with_no_labelled_pixel_adds_nothing()
    {
        AssertSameStep(Step(1, Seeds, secondUnlabelled: true), Step(3, Seeds, secondUnlabelled: true), "three shards, the second unlabelled");
    }

    [Fact]
    public void The_masks_follow_each_images_seed_exactly()
    {
        var first = Step(2, Seeds);
        var again = Step(2, Seeds);
        Assert.Equal(first.Loss, again.Loss);
        foreach (var (name, gradient) in first.Gradients) Assert.True(gradient.eq(again.Gradients[name]).all().item<bool>(), $"{name}: a repeated step is not identical");
        // Another seed for one image draws other masks: the step changes.
        var other = Step(2, new long[] { 101, 999, 303 });
        Assert.NotEqual(first.Loss, other.Loss);
    }

    [Fact]
    public void A_failing_shard_throws_its_own_error_and_the_step_stays_usable()
    {
        using var model = Model();
        var (images, labels) = Batch();
        using var step = new ShardedStep(model, 3);
        using var wrong = labels.clone();
        wrong[2, 0, 0] = tensor(9L);   // not a class of a 5-class model
        var error = Assert.Throws<ArgumentException>(() => step.Accumulate(images, wrong, 1, Seeds));
        Assert.Contains("label 9", error.Message);
        Assert.Throws<ArgumentException>(() => step.Accumulate(images, labels, 1, new long[] { 1, 2 }));
        Assert.True(step.Accumulate(images, labels, 1, Seeds) is { } loss && double.IsFinite(loss));
    }

    [Fact]
    public void Each_shard_reports_where_its_time_went()
    {
        using var model = Model();
        var (images, labels) = Batch(secondUnlabelled: true);
        using var step = new ShardedStep(model, 3);
        Assert.Empty(step.LastTimes);
        step.Accumulate(images, labels, 1, Seeds);
        Assert.Equal(new long[] { 1, 1, 1 }, step.LastTimes.Select(t => t.Images));
        // The second image has no labelled pixel: its shard is not run.
        Assert.Equal(0, step.LastTimes[1].TotalMs);
        foreach (var times in new[] { step.LastTimes[0], step.LastTimes[2] })
        {
            Assert.True(times.ForwardMs > 0 && times.BackwardMs > 0, $"{times}");
            Assert.True(times.WaitMs >= 0 && times.AddMs >= 0, $"{times}");
            Assert.Equal(times.ForwardMs + times.BackwardMs + times.WaitMs + times.AddMs, times.TotalMs, 9);
            // The thread's processor time in its passes: some, and no more than they took (it is read just after them).
            if (OperatingSystem.IsLinux())
                Assert.True(times.ComputeCpuMs is > 0 and var cpu && cpu <= times.ForwardMs + times.BackwardMs + 1, $"{times}");
        }

        // The batch in one pass: one entry, on the caller's thread, with nothing to wait for.
        using var whole = new ShardedStep(model, 1);
        whole.Accumulate(images, labels, 1, Seeds);
        var only = Assert.Single(whole.LastTimes);
        Assert.Equal(3, only.Images);
        Assert.True(only.ForwardMs > 0 && only.BackwardMs > 0, $"{only}");
    }

    [Fact]
    public void Nothing_labelled_gives_no_loss()
    {
        using var model = Model();
        var (images, labels) = Batch();
        labels.fill_(Scalars.Of(255L));
        using var step = new ShardedStep(model, 2);
        Assert.Null(step.Accumulate(images, labels, 1, Seeds));
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }
}
