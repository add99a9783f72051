using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Tooling;
using Segmenter.Runtime.Checkpoints;
using Xunit;
using static TorchSharp.torch;
using Segmenter.Tests;

namespace Segmenter.Runtime.Tests;

/// <summary>Weights in and out: the reference's fixtures, mmsegmentation and timm layouts, the project's format, bad files.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-checkpoints-");

    public void Dispose() => temporary.Delete(recursive: true);

    private static ModelEntry FromSpec(string fixture, string? text = null)
    {
        var compilation = SpecCompiler.Compile(text ?? ReferenceFixtures.Specs[fixture]);
        Assert.Empty(compilation.Diagnostics);
        return DynamicModels.Load(compilation.Models).Single();
    }

    private static float MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [MemberData(nameof(ReferenceFixtures.Names), MemberType = typeof(ReferenceFixtures))]
    public void Reference_logits_are_reproduced_through_the_spec_and_through_variant_yml(string fixture)
    {
        var io = SafeTensors.Read(TestPaths.Fixture(fixture, "io.safetensors"));
        foreach (var entry in new[] { FromSpec(fixture), ModelResolver.Resolve(TestPaths.Fixture(fixture, "variant.yml")) })
        {
            using var model = entry.Create(null);
            var report = CheckpointLoader.Load(model, TestPaths.Fixture(fixture, "checkpoint.pth"));
            Assert.Empty(report.Missing);
            Assert.All(report.Skipped, key => Assert.StartsWith("encoder.head", key));
            using var logits = model.Predict(io["input"]);
            Assert.Equal(io["logits"].shape, logits.shape);
            Assert.True(MaxDifference(logits, io["logits"]) <= 1e-4, $"{entry.Name}: max |Δ| = {MaxDifference(logits, io["logits"])}");
        }
    }

    [Theory]
    [InlineData("micro-linear", 1)]
    [InlineData("micro-deit-mask", 0)]
    public void Reference_attention_maps_are_reproduced(string fixture, int layer)
    {
        var io = SafeTensors.Read(TestPaths.Fixture(fixture, "io.safetensors"));
        using var model = FromSpec(fixture).Create(null);
        CheckpointLoader.Load(model, TestPaths.Fixture(fixture, "checkpoint.pth"));
        model.eval();
        using var noGrad = no_grad();
        using var attention = model.EncoderAttention(io["attention_input"], layer);
        var expected = io[$"attention_encoder_layer{layer}"];
        Assert.Equal(expected.shape, attention.shape);
        Assert.True(MaxDifference(attention, expected) <= 1e-5, $"max |Δ| = {MaxDifference(attention, expected)}");
    }

    [Fact]
    public void The_variant_yml_model_is_translated_from_net_kwargs()
    {
        var variant = ReferenceVariant.Read(Path.GetDirectoryName(TestPaths.Fixture("micro-deit-mask", "variant.yml"))!);
        Assert.EndsWith("checkpoint.pth", variant.Checkpoint);
        var spec = variant.Compile().Spec;
        Assert.Equal("MicroDeitMask", spec.Name);
        Assert.Equal(new BackboneSpec("CustomMicroBackbone", 2, 128, 2, 512, true), spec.Backbone);
        Assert.Equal(new DecoderSpec(DecoderKind.Mask, 2, 128, 2, 512, 0.1, 0.0), spec.Decoder);
        Assert.Equal((48, 48, 4), (spec.ImageHeight, spec.ImageWidth, spec.NumClasses));
        Assert.Equal(NormalizationSpec.ImageNet, spec.Normalization);
    }

    [Fact]
    public void An_mmsegmentation_checkpoint_loads_with_its_names_and_layouts_mapped()
    {
        var reference = CheckpointFile.Read(TestPaths.Fixture("micro-mask", "checkpoint.pth"));
        var mmseg = reference.Tensors.Where(t => !t.Key.StartsWith("encoder.head")).Select(t => ToMmseg(t.Key, t.Value)).ToList();
        Assert.Contains(mmseg, t => t.Key == "backbone.layers.1.attn.attn.in_proj_weight");
        Assert.Contains(mmseg, t => t.Key == "decode_head.patch_proj.weight");
        var path = Path.Combine(temporary.FullName, "mmseg.safetensors");
        SafeTensors.Write(path, mmseg);

        var io = SafeTensors.Read(TestPaths.Fixture("micro-mask", "io.safetensors"));
        using var model = FromSpec("micro-mask").Create(null);
        var report = CheckpointLoader.Load(model, path);
        Assert.Equal(KeyConvention.Mmsegmentation, report.Convention);
        using var logits = model.Predict(io["input"]);
        Assert.True(MaxDifference(logits, io["logits"]) <= 1e-4);

        // The port's own settings (LayerNorm epsilon 1e-6, bicubic position-embedding resizing) are spec properties.
        var ported = FromSpec("micro-mask", ReferenceFixtures.Specs["micro-mask"].Replace("decoder = mask(layers = 2)", "decoder = mask(layers = 2) layer_norm_eps = 1e-6 pos_embed_resize = bicubic"));
        using var portedModel = ported.Create(null);
        CheckpointLoader.Load(portedModel, path);
        using var portedLogits = portedModel.Predict(io["input"]);
        Assert.InRange(MaxDifference(portedLogits, io["logits"]), 1e-6, 0.5);
    }

    [Fact]
    public void An_mmsegmentation_linear_head_is_a_1x1_convolution()
    {
        var reference = CheckpointFile.Read(TestPaths.Fixture("micro-linear", "checkpoint.pth"));
        var mmseg = reference.Tensors.Where(t => !t.Key.StartsWith("encoder.head")).Select(t => ToMmseg(t.Key, t.Value)).ToList();
        Assert.Equal(new long[] { 5, 64, 1, 1 }, mmseg.Single(t => t.Key == "decode_head.conv_seg.weight").Value.shape);
        var path = Path.Combine(temporary.FullName, "mmseg-linear.safetensors");
        SafeTensors.Write(path, mmseg);
        var io = SafeTensors.Read(TestPaths.Fixture("micro-linear", "io.safetensors"));
        using var model = FromSpec("micro-linear").Create(null);
        CheckpointLoader.Load(model, path);
        using var logits = model.Predict(io["input"]);
        Assert.True(MaxDifference(logits, io["logits"]) <= 1e-4);
    }

    [Fact]
    public void Timm_classification_weights_initialise_the_encoder_with_the_position_grid_resized()
    {
        var reference = CheckpointFile.Read(TestPaths.Fixture("micro-linear", "checkpoint.pth")).Tensors.ToDictionary(t => t.Key, t => t.Value);
        var timm = reference.Where(t => t.Key.StartsWith("encoder.") && !t.Key.StartsWith("encoder.head"))
            .Select(t => new KeyValuePair<string, Tensor>(t.Key.Substring("encoder.".Length), t.Value)).ToList();
        // A classification model pre-trained at a 6×6 grid, with its 1000-class head.
        var pos = reference["encoder.pos_embed"];
        timm.RemoveAll(t => t.Key == "pos_embed");
        timm.Add(new("pos_embed", PositionEmbedding.Resample(pos, 1, 4, 4, 6, 6, ResizeMode.Bilinear)));
        timm.Add(new("head.weight", randn(1000, 64)));
        timm.Add(new("head.bias", zeros(1000)));
        var path = Path.Combine(temporary.FullName, "timm.safetensors");
        SafeTensors.Write(path, timm);

        using var model = FromSpec("micro-linear").Create(null);
        using var decoderBefore = model.state_dict()["decoder.head.weight"].clone();
        var report = CheckpointLoader.Load(model, path);
        Assert.Equal(KeyConvention.Timm, report.Convention);
        Assert.Equal(new[] { "encoder.head.weight", "encoder.head.bias" }, report.Skipped);
        Assert.Equal(new[] { "decoder.head.weight", "decoder.head.bias" }, report.Missing);
        Assert.Contains("encoder.pos_embed resized from a 6×6 grid to 4×4 (bilinear)", report.Notes);
        var state = model.state_dict();
        Assert.Equal(0, MaxDifference(state["encoder.blocks.1.mlp.fc2.weight"], reference["encoder.blocks.1.mlp.fc2.weight"]));
        Assert.Equal(0, MaxDifference(state["decoder.head.weight"], decoderBefore));
        Assert.Contains("2 missing", report.ToString());
    }

    [Fact]
    public void The_projects_format_round_trips_tensors_and_spec_and_refuses_another_architecture()
    {
        var entry = FromSpec("micro-mask");
        using var model = entry.Create(null);
        var path = Path.Combine(temporary.FullName, "project.safetensors");
        ProjectCheckpoint.Save(model, path);

        var file = CheckpointFile.Read(path);
        Assert.True(ProjectCheckpoint.IsProjectFile(file));
        Assert.Equal(entry.Spec, ProjectCheckpoint.ReadSpec(file));

        using var copy = entry.Create(null);
        CheckpointLoader.Load(copy, path);
        var original = model.state_dict();
        foreach (var (key, value) in copy.state_dict())
            Assert.True(value.equal(original[key]).all().item<bool>(), key);

        using var other = FromSpec("micro-linear").Create(null);
        var error = Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(other, path));
        Assert.Contains("holds weights of model 'MicroMask', whose architecture differs from 'MicroLinear': decoder", error.Message);
    }

    [Theory]
    [InlineData("module.")]
    [InlineData("_orig_mod.")]
    [InlineData("module._orig_mod.")]
    [InlineData("_orig_mod.module.")]
    public void The_prefixes_ddp_and_torch_compile_put_on_every_key_are_removed(string prefix)
    {
        var path = Path.Combine(temporary.FullName, "wrapped.safetensors");
        using var weight = ones(2, 3);
        using var bias = zeros(2);
        SafeTensors.Write(path, new[] { new KeyValuePair<string, Tensor>(prefix + "encoder.head.weight", weight), new(prefix + "module.bias", bias) });
        using (var file = CheckpointFile.Read(path))
            Assert.Equal(new[] { "encoder.head.weight", "module.bias" }, file.Tensors.Select(t => t.Key).Order());
        // A prefix that only some keys have is part of their names.
        SafeTensors.Write(path, new[] { new KeyValuePair<string, Tensor>(prefix + "a", weight), new("b", bias) });
        using (var file = CheckpointFile.Read(path))
            Assert.Equal(new[] { prefix + "a", "b" }.Order(), file.Tensors.Select(t => t.Key).Order());
    }

    [Fact]
    public void Bad_files_give_clear_errors_and_leave_the_model_unchanged()
    {
        using var model = FromSpec("micro-linear").Create(null);
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        void Unchanged()
        {
            foreach (var (key, value) in model.state_dict()) Assert.True(value.equal(before[key]).all().item<bool>(), key + " changed");
        }

        var pth = TestPaths.Fixture("micro-linear", "checkpoint.pth");
        var truncated = Path.Combine(temporary.FullName, "truncated.pth");
        File.WriteAllBytes(truncated, File.ReadAllBytes(pth).AsSpan(0, 20_000).ToArray());
        Assert.Contains("truncated.pth: not a readable torch.save zip file", Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(model, truncated)).Message);

        var text = Path.Combine(temporary.FullName, "notes.pth");
        File.WriteAllText(text, "these are not weights");
        Assert.Contains("notes.pth: not a checkpoint: expected a torch.save zip file (.pth/.pt) or a safetensors file", Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(model, text)).Message);

        var cut = Path.Combine(temporary.FullName, "cut.safetensors");
        File.WriteAllBytes(cut, File.ReadAllBytes(TestPaths.Fixture("micro-linear", "io.safetensors")).AsSpan(0, 5000).ToArray());
        var cutError = Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(model, cut)).Message;
        Assert.Contains("cut.safetensors: tensor 'input'", cutError);
        Assert.Contains("(truncated file?)", cutError);
        // Reading the metadata alone checks the header against the file as well (import, resume).
        Assert.Contains("(truncated file?)", Assert.Throws<InvalidDataException>(() => SafeTensors.ReadMetadata(cut)).Message);

        var header = Path.Combine(temporary.FullName, "no-dtype.safetensors");
        var json = System.Text.Encoding.UTF8.GetBytes("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}");
        File.WriteAllBytes(header, BitConverter.GetBytes((ulong)json.Length).Concat(json).Concat(new byte[8]).ToArray());
        Assert.Contains("no-dtype.safetensors: tensor 'w' needs a string 'dtype'", Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(model, header)).Message);

        var duplicate = Path.Combine(temporary.FullName, "duplicate.safetensors");
        using (var one = zeros(2))
            Assert.Contains("two tensors are named 'w'", Assert.Throws<ArgumentException>(() => SafeTensors.Write(duplicate, new[] { KeyValuePair.Create("w", one), KeyValuePair.Create("w", one) })).Message);
        Assert.False(File.Exists(duplicate));

        var tensors = CheckpointFile.Read(pth).Tensors.ToList();
        var wrongShape = Path.Combine(temporary.FullName, "wrong-shape.safetensors");
        SafeTensors.Write(wrongShape, tensors.Select(t => t.Key == "encoder.blocks.0.mlp.fc1.weight" ? new KeyValuePair<string, Tensor>(t.Key, zeros(128, 64)) : t));
        var shapeError = Assert.Throws<CheckpointLoadException>(() => CheckpointLoader.Load(model, wrongShape));
        Assert.Contains("encoder.blocks.0.mlp.fc1.weight: the model has [256, 64], the checkpoint [128, 64]", shapeError.Message);
        Unchanged();

        var missing = Path.Combine(temporary.FullName, "missing.safetensors");
        SafeTensors.Write(missing, tensors.Where(t => !t.Key.StartsWith("decoder.")));
        var missingError = Assert.Throws<CheckpointLoadException>(() => CheckpointLoader.Load(model, missing));
        Assert.Equal(new[] { "decoder.head.weight", "decoder.head.bias" }, missingError.Report.MissingNotAllowed);
        Unchanged();
        var allowed = CheckpointLoader.Load(model, missing, LoadOptions.EncoderOnly);
        Assert.Equal(2, allowed.Missing.Count);

        var extra = Path.Combine(temporary.FullName, "extra.safetensors");
        SafeTensors.Write(extra, tensors.Append(new("decoder.something_else", zeros(3))));
        Assert.Equal(new[] { "decoder.something_else" }, Assert.Throws<CheckpointLoadException>(() => CheckpointLoader.Load(model, extra)).Report.Unexpected);
        Assert.Contains("decoder.something_else", CheckpointLoader.Load(model, extra, new LoadOptions { Skip = new[] { "decoder.something" } }).Skipped);
    }

    /// <summary>A reference key and tensor as mmsegmentation's Segmenter port names and shapes them.</summary>
    private static KeyValuePair<string, Tensor> ToMmseg(string key, Tensor value)
    {
        string Block(string rest) => rest
            .Replace("norm1.", "ln1.").Replace("norm2.", "ln2.")
            .Replace("attn.qkv.weight", "attn.attn.in_proj_weight").Replace("attn.qkv.bias", "attn.attn.in_proj_bias")
            .Replace("attn.proj.", "attn.attn.out_proj.")
            .Replace("mlp.fc1.", "ffn.layers.0.0.").Replace("mlp.fc2.", "ffn.layers.1.");
        var block = Regex.Match(key, @"^(encoder|decoder)\.blocks\.(\d+)\.(.*)$");
        if (block.Success)
            return new((block.Groups[1].Value == "encoder" ? "backbone.layers." : "decode_head.layers.") + block.Groups[2].Value + "." + Block(block.Groups[3].Value), value);
        return key switch
        {
            "encoder.patch_embed.proj.weight" => new("backbone.patch_embed.projection.weight", value),
            "encoder.patch_embed.proj.bias" => new("backbone.patch_embed.projection.bias", value),
            "encoder.norm.weight" => new("backbone.ln1.weight", value),
            "encoder.norm.bias" => new("backbone.ln1.bias", value),
            "decoder.proj_patch" => new("decode_head.patch_proj.weight", value.t().contiguous()),
            "decoder.proj_classes" => new("decode_head.classes_proj.weight", value.t().contiguous()),
            "decoder.head.weight" => new("decode_head.conv_seg.weight", value.reshape(value.shape[0], value.shape[1], 1, 1)),
            "decoder.head.bias" => new("decode_head.conv_seg.bias", value),
            _ when key.StartsWith("encoder.") => new("backbone." + key.Substring(8), value),
            _ => new("decode_head." + key.Substring(8).Replace("proj_dec.", "dec_proj."), value),
        };
    }
}
