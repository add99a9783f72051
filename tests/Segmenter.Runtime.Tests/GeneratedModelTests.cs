using System;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Tooling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Segmenter.Tests;

namespace Segmenter.Runtime.Tests;

/// <summary>Behaviour of generated models: shapes at any size, initialisation, train/eval, attention, tensor lifetime.</summary>
public sealed class GeneratedModelTests
{
    [Theory]
    [MemberData(nameof(TestModels.Names), MemberType = typeof(TestModels))]
    public void Forward_gives_logits_at_the_input_size_for_any_size_and_batch(string name)
    {
        var entry = TestModels.Get(name);
        using var model = entry.Create(null);
        foreach (var (batch, height, width) in new[] { (2, 37, 45), (1, 8, 8), (1, 5, 7), (3, 64, 33) })
        {
            using var images = randn(batch, 3, height, width);
            using var logits = model.Predict(images);
            Assert.Equal(new long[] { batch, entry.Spec.NumClasses, height, width }, logits.shape);
            Assert.False(logits.isnan().any().item<bool>());
        }
    }

    [Fact]
    public void Initialisation_follows_the_reference()
    {
        manual_seed(7);
        using var model = TestModels.Get("TinyMask").Create(null);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        void Std(string key, double expected, double tolerance) =>
            Assert.InRange(parameters[key].std().item<float>(), expected - tolerance, expected + tolerance);

        Std("encoder.blocks.0.mlp.fc1.weight", 0.02, 0.002);
        Std("encoder.blocks.1.attn.qkv.weight", 0.02, 0.002);
        Std("encoder.pos_embed", 0.02, 0.003);
        Std("decoder.cls_emb", 0.02, 0.01);
        Std("decoder.proj_patch", 1 / Math.Sqrt(64), 0.02);
        Assert.Equal(0, parameters["encoder.blocks.0.attn.qkv.bias"].abs().max().item<float>());
        Assert.Equal(1, parameters["encoder.norm.weight"].min().item<float>());
        Assert.Equal(0, parameters["decoder.mask_norm.bias"].abs().max().item<float>());
        Assert.InRange(parameters["encoder.blocks.0.mlp.fc1.weight"].mean().item<float>(), -0.002, 0.002);
        // The patch embedding keeps PyTorch's default (Kaiming-uniform) initialisation: bound 1/sqrt(fan_in).
        Assert.True(parameters["encoder.patch_embed.proj.weight"].abs().max().item<float>() <= 1 / Math.Sqrt(3 * 8 * 8) + 1e-6);
    }

    [Fact]
    public void Drop_path_and_dropout_act_in_training_only()
    {
        using var model = TestModels.Get("TinyDropout").Create(null);
        using var images = randn(4, 3, 32, 32);
        model.train();
        using (var a = model.call(images))
        using (var b = model.call(images))
            Assert.True((a - b).abs().max().item<float>() > 1e-4);
        model.eval();
        using var noGrad = no_grad();
        using var c = model.call(images);
        using var d = model.call(images);
        Assert.Equal(0, (c - d).abs().max().item<float>());
    }

    [Fact]
    public void Attention_maps_have_the_reference_shapes_and_are_distributions()
    {
        using var model = TestModels.Get("TinyDeitMask").Create(null);
        using var images = randn(2, 3, 64, 80);
        using var encoder = model.EncoderAttention(images, 1);
        Assert.Equal(new long[] { 2, 2, 2 + 20, 2 + 20 }, encoder.shape);
        TensorAssert.Below((encoder.sum(-1) - 1), 1e-5);
        using var decoder = model.DecoderAttention(images, 0);
        Assert.Equal(new long[] { 2, 2, 20 + 4, 20 + 4 }, decoder.shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.EncoderAttention(images, 2));

        using var linear = TestModels.Get("TinyLinear").Create(null);
        Assert.Contains("has a linear decoder, which has no attention", Assert.Throws<ArgumentException>(() => linear.DecoderAttention(images, 0)).Message);
    }

    [Fact]
    public void Bad_inputs_get_clear_errors()
    {
        using var model = TestModels.Get("TinyLinear").Create(null);
        var rank = Assert.Throws<ArgumentException>(() => model.Predict(randn(3, 32, 32)));
        Assert.Contains("[batch, 3, height, width]", rank.Message);
        var channels = Assert.Throws<ArgumentException>(() => model.Predict(randn(1, 1, 32, 32)));
        Assert.Contains("got [1, 1, 32, 32]", channels.Message);
    }

    [Fact]
    public void Inference_leaves_no_live_tensors_behind()
    {
        using var model = TestModels.Get("TinyMask").Create(null);
        using var images = randn(1, 3, 40, 48);
        model.Predict(images).Dispose();
        var statistics = DisposeScopeManager.Statistics;
        statistics.Reset();
        for (int i = 0; i < 20; i++) model.Predict(images).Dispose();
        Assert.Equal(0, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void The_generated_zoo_compiles_without_any_warning()
    {
        var zoo = SpecCompiler.Compile(System.IO.Directory.GetFiles(TestPaths.Specs, "*.seg").Select(f => Dsl.Text.SourceText.From(System.IO.File.ReadAllText(f), f)));
        var (image, diagnostics) = DynamicModels.CompileToImage(zoo.Models, "ZooCheck");
        Assert.NotNull(image);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void Models_report_their_spec_and_resolve_by_file()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("segmenter-spec-");
        try
        {
            var path = System.IO.Path.Combine(directory.FullName, "new.seg");
            System.IO.File.WriteAllText(path, "model Mine : SegT16 { classes = 21 decoder = mask(layers = 1) }\nmodel Other { backbone = Tiny patch = 32 image = 64 classes = 2 }");
            var mine = ModelResolver.Resolve(path + ":Mine");
            Assert.Equal(21, mine.Spec.NumClasses);
            using var model = mine.Create(null);
            Assert.Equal("Mine", model.Specification.Name);
            var several = Assert.Throws<ArgumentException>(() => ModelResolver.Resolve(path));
            Assert.Contains("several models", several.Message);
            var missing = Assert.Throws<ArgumentException>(() => ModelResolver.Resolve(path + ":Nope"));
            Assert.Contains("has no model 'Nope'", missing.Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
