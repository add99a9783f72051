using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Tooling;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using Xunit;
using Xunit.Abstractions;
using SkippableFactAttribute = Xunit.SkippableFactAttribute;
using static TorchSharp.torch;
using Segmenter.Tests;
using Google.Protobuf;

namespace Segmenter.Export.Tests;

/// <summary>Exported ONNX graphs against the TorchSharp models and the reference's logits, in ONNX Runtime.</summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-onnx-");
    private readonly ITestOutputHelper output;

    public OnnxExportTests(ITestOutputHelper output) => this.output = output;

    public void Dispose() => temporary.Delete(recursive: true);

    private string Export(SegmenterModel model, OnnxExportOptions options, string name)
    {
        var path = Path.Combine(temporary.FullName, name + ".onnx");
        OnnxExporter.Save(OnnxExporter.Export(model, options), path);
        return path;
    }

    [Theory]
    [MemberData(nameof(ReferenceFixtures.Names), MemberType = typeof(ReferenceFixtures))]
    public void Exports_reproduce_the_reference_logits(string fixture)
    {
        var entry = ModelResolver.Resolve(TestPaths.Fixture(fixture, "variant.yml"));
        using var model = entry.Create(null);
        CheckpointLoader.Load(model, TestPaths.Fixture(fixture, "checkpoint.pth"));
        var io = SafeTensors.Read(TestPaths.Fixture(fixture, "io.safetensors"));
        var kinds = new (string Name, OnnxExportOptions Options)[]
        {
            ("portable", new OnnxExportOptions()),
            ("portable, attention batched", new OnnxExportOptions { Attention = OnnxAttention.Batched }),
            ("fused", new OnnxExportOptions { Flavour = OnnxFlavour.Fused }),
        };
        foreach (var (kind, options) in kinds)
        {
            var path = Export(model, options, fixture + "-" + kind.Replace(", ", "-").Replace(' ', '-'));
            using var session = new OnnxSession(path);
            using var logits = session.Run(io["input"]);
            var difference = (logits - io["logits"]).abs().max().item<float>();
            output.WriteLine($"{fixture} {kind}: max |Δ| = {difference}");
            Assert.True(difference <= 1e-4, $"{kind}: {difference}");
        }
    }

    /// <summary>Zoo architectures with fewer layers (blocks are identical, so the graph is exercised the same way), random weights.</summary>
    private const string Spread = """
        model OnnxT16 : SegT16 { backbone = Tiny(layers = 2) image = 64 }
        model OnnxS8Mask : SegSMask16 { backbone = Small(layers = 1) patch = 8 image = 64 decoder = mask(layers = 1) }
        model OnnxB32 : SegB32 { backbone = Base(layers = 1) image = 64 classes = 19 }
        model OnnxBDeitMask : SegBDeiTMask16 { backbone = BaseDistilled(layers = 1) image = 64 decoder = mask(layers = 2) classes = 7 }
        model OnnxBicubic : SegT16 { backbone = Tiny(layers = 1) image = 48x64 pos_embed_resize = bicubic layer_norm_eps = 1e-6 classes = 3 }
        model OnnxWide : SegT16 { backbone = Tiny(layers = 1) image = 32 classes = 300 }
        """;

    private static readonly Lazy<IReadOnlyDictionary<string, ModelEntry>> SpreadModels = new(() =>
    {
        var compilation = SpecCompiler.Compile(new[] { Dsl.Text.SourceText.From(Spread, "onnx-spread.seg") }, ModelResolver.ZooSpecs);
        Assert.Empty(compilation.Diagnostics);
        return DynamicModels.Load(compilation.Models).ToDictionary(m => m.Name);
    });

    public static IEnumerable<object[]> SpreadNames() => new[] { "OnnxT16", "OnnxS8Mask", "OnnxB32", "OnnxBDeitMask", "OnnxBicubic" }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(SpreadNames))]
    public void Exports_match_TorchSharp_at_three_sizes_and_two_batches_from_one_session(string name)
    {
        manual_seed(11);
        using var model = SpreadModels.Value[name].Create(null);
        model.eval();
        var path = Export(model, new OnnxExportOptions { Labels = true }, name);
        using var session = new OnnxSession(path);
        foreach (var (height, width) in new[] { (64, 64), (37, 45), (96, 80) })
        {
            foreach (var batch in new[] { 1, 3 })
            {
                using var images = randn(batch, 3, height, width);
                using var expected = model.Predict(images);
                using var logits = session.Run(images);
                var difference = (logits - expected).abs().max().item<float>();
                Assert.True(difference <= 1e-4, $"{name} at {batch}×{height}×{width}: max |Δ| = {difference}");
            }
        }
    }

    [Fact]
    public void Replicas_share_packed_weights_and_run_side_by_side_as_one_session_does()
    {
        manual_seed(5);
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        model.eval();
        var proto = OnnxExporter.Export(model, new OnnxExportOptions());
        var path = Export(model, new OnnxExportOptions(), "replicas");
        using var images = randn(2, 3, 64, 48);
        using var single = new OnnxSession(path, new OnnxSessionOptions { Threads = 1 });
        using var expected = single.Run(images);
        foreach (var replicas in new[] { OnnxSession.Replicas(path, new OnnxSessionOptions { Threads = 1 }, 3), OnnxSession.Replicas(proto.ToByteArray(), new OnnxSessionOptions { Threads = 1 }, 2) })
        {
            var results = new Tensor[replicas.Count];
            System.Threading.Tasks.Parallel.For(0, replicas.Count, i => results[i] = replicas[i].Run(images));
            foreach (var result in results)
            {
                Assert.Equal(0, (result - expected).abs().max().item<float>());
                result.Dispose();
            }
            // The shared weights outlive a replica that is gone: the others still run.
            replicas[0].Dispose();
            replicas[0].Dispose();
            using (var after = replicas[^1].Run(images)) Assert.Equal(0, (after - expected).abs().max().item<float>());
            foreach (var replica in replicas.Skip(1)) replica.Dispose();
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxSession.Replicas(path, new OnnxSessionOptions(), 0));
    }

    [Theory]
    [MemberData(nameof(SpreadNames))]
    public void Attention_one_head_at_a_time_computes_what_all_heads_at_once_do(string name)
    {
        manual_seed(12);
        using var model = SpreadModels.Value[name].Create(null);
        model.eval();
        var spec = model.Specification;
        var blocks = new[] { (spec.Backbone.Layers, spec.Backbone.Heads), spec.Decoder.Kind == Segmenter.Spec.DecoderKind.Linear ? (0, 0) : (spec.Decoder.Layers, spec.Decoder.Heads) };
        var batched = OnnxExporter.Export(model, new OnnxExportOptions { Attention = OnnxAttention.Batched });
        var perHead = OnnxExporter.Export(model, new OnnxExportOptions { Attention = OnnxAttention.PerHead });
        // One softmax per block, against one per head of each block: each head's [B, 1, T, T] scores made and used on their own.
        Assert.Equal(blocks.Sum(b => b.Item1), batched.Graph.Node.Count(n => n.OpType == "Softmax"));
        Assert.Equal(blocks.Sum(b => b.Item1 * b.Item2), perHead.Graph.Node.Count(n => n.OpType == "Softmax"));
        using var one = new OnnxSession(batched.ToByteArray());
        using var other = new OnnxSession(perHead.ToByteArray());
        foreach (var (height, width) in new[] { (64, 64), (37, 45) })
        {
            using var images = randn(2, 3, height, width);
            using var expected = model.Predict(images);
            using var a = one.Run(images);
            using var b = other.Run(images);
            Assert.True((b - expected).abs().max().item<float>() <= 1e-4, $"{name} at {height}×{width}: per head against TorchSharp");
            Assert.True((b - a).abs().max().item<float>() <= 1e-5, $"{name} at {height}×{width}: per head against all heads at once");
        }
    }

    [Fact]
    public void Attention_layout_defaults_to_one_head_at_a_time_on_CPUs_to_all_heads_for_GPUs_and_is_refused_where_attention_is_one_operator()
    {
        Assert.Equal(OnnxAttention.PerHead, new OnnxExportOptions().AttentionLayout);
        Assert.Equal(OnnxAttention.PerHead, new OnnxExportOptions { Int8 = true }.AttentionLayout);
        Assert.Equal(OnnxAttention.Batched, new OnnxExportOptions { Float16 = true }.AttentionLayout);
        Assert.Equal(OnnxAttention.Batched, new OnnxExportOptions { ForGpu = true }.AttentionLayout);
        Assert.Equal(OnnxAttention.PerHead, new OnnxExportOptions { Float16 = true, Attention = OnnxAttention.PerHead }.AttentionLayout);
        Assert.Equal(OnnxAttention.Batched, new OnnxExportOptions { Int8 = true, Attention = OnnxAttention.Batched }.AttentionLayout);
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        Assert.Equal(2 * 3, OnnxExporter.Export(model, new OnnxExportOptions()).Graph.Node.Count(n => n.OpType == "Softmax"));   // 2 blocks of 3 heads
        Assert.Equal(2 * 3, OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true }).Graph.Node.Count(n => n.OpType == "Softmax"));
        Assert.Equal(2, OnnxExporter.Export(model, new OnnxExportOptions { Float16 = true }).Graph.Node.Count(n => n.OpType == "Softmax"));
        Assert.Equal(2, OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true, Attention = OnnxAttention.Batched }).Graph.Node.Count(n => n.OpType == "Softmax"));
        foreach (var refused in new[] { new OnnxExportOptions { Flavour = OnnxFlavour.Fused, Attention = OnnxAttention.PerHead }, new OnnxExportOptions { Opset = 23, Attention = OnnxAttention.Batched } })
            Assert.Contains("--attention chooses how the portable graph", Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, refused)).Message);
        // Left unset, the fused flavour and opset 23 take the default without complaint.
        Assert.Contains(OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true, Flavour = OnnxFlavour.Fused }).Graph.Node, n => n.OpType == "MultiHeadAttention");
    }

    [Fact]
    public void Sessions_run_without_onnx_runtimes_memory_pattern_unless_asked_and_compute_the_same_either_way()
    {
        // The memory pattern allocates each shape's plan beside the arena: 4.2 GB against 2.6 GB for Seg-B/16 at 1024².
        using (var defaults = OnnxSession.SessionOptionsFor(new OnnxSessionOptions())) Assert.False(defaults.EnableMemoryPattern);
        using (var asked = OnnxSession.SessionOptionsFor(new OnnxSessionOptions { MemoryPattern = true })) Assert.True(asked.EnableMemoryPattern);

        manual_seed(6);
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        model.eval();
        var path = Export(model, new OnnxExportOptions(), "memory-pattern");
        using var without = new OnnxSession(path, new OnnxSessionOptions { Threads = 1 });
        using var with = new OnnxSession(path, new OnnxSessionOptions { Threads = 1, MemoryPattern = true });
        foreach (var (height, width) in new[] { (64, 48), (32, 80), (64, 48) })   // sizes change between runs, as a server's do
        {
            using var images = randn(1, 3, height, width);
            using var a = without.Run(images);
            using var b = with.Run(images);
            Assert.Equal(0, (a - b).abs().max().item<float>());
        }
    }

    [Fact]
    public void Labels_are_the_argmax_of_the_logits()
    {
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        var path = Export(model, new OnnxExportOptions { Labels = true }, "labels");
        using var session = new OnnxSession(path);
        using var images = randn(2, 3, 40, 56);
        var (logits, labels) = session.RunWithLabels(images);
        using var _ = logits;
        using var __ = labels!;
        Assert.Equal(new long[] { 2, 40, 56 }, labels!.shape);
        Assert.Equal(ScalarType.Byte, labels.dtype);
        Assert.True(labels.to(ScalarType.Int64).equal(logits.argmax(1)).all().item<bool>());

        // The same file asked for the logits alone (as the server does, taking the argmax itself): the same logits.
        using var only = empty(2, session.Classes, 40, 56);
        session.RunLogitsInto(images, only);
        Assert.True(only.equal(logits).all().item<bool>());
    }

    public static IEnumerable<object[]> SplitCases() => new[]
    {
        new object[] { "OnnxT16", false, false },
        new object[] { "OnnxS8Mask", false, true },
        new object[] { "OnnxB32", true, false },
        new object[] { "OnnxWide", false, true },
    };

    [Theory]
    [MemberData(nameof(SplitCases))]
    public void A_session_cut_at_the_upsampling_gives_the_same_logits_and_their_argmax_without_making_them(string name, bool int8, bool labelsOutput)
    {
        manual_seed(3);
        using var model = SpreadModels.Value[name].Create(null);
        model.eval();
        var path = Export(model, new OnnxExportOptions { Int8 = int8, Labels = labelsOutput }, name + "-split");
        using var whole = new OnnxSession(path, new OnnxSessionOptions { Threads = 1 });
        using var cut = new OnnxSession(path, new OnnxSessionOptions { Threads = 1, SplitAtUpsampling = true });
        Assert.False(whole.CanRunLabels);
        Assert.True(cut.CanRunLabels);
        Assert.Equal(whole.Classes, cut.Classes);
        Assert.Equal(whole.Metadata, cut.Metadata);
        var labelType = LabelsOutput.IsByte(cut.Classes) ? ScalarType.Byte : ScalarType.Int64;
        foreach (var (height, width) in new[] { (64, 64), (37, 45) })
        {
            using var images = randn(2, 3, height, width);
            var (expected, expectedLabels) = whole.RunWithLabels(images);
            var (logits, graphLabels) = cut.RunWithLabels(images);
            using var _ = expected;
            using var __ = logits;
            using var ___ = expectedLabels;
            using var ____ = graphLabels;
            TensorAssert.AtMost(logits - expected, 1e-6);
            Assert.Equal(labelsOutput, graphLabels is not null);
            if (graphLabels is not null) Assert.True(graphLabels.equal(expectedLabels!).all().item<bool>());

            using var argmax = expected.argmax(1);
            foreach (var threads in new[] { 1, 2 })
            {
                using var labels = full(new long[] { 2, height, width }, Scalars.Of(7L), labelType);
                cut.RunLabelsInto(images, labels, threads);
                using var disagree = labels.to(ScalarType.Int64).ne(argmax).sum();
                Assert.True(disagree.item<long>() == 0, $"{name} at {height}×{width}, {threads} threads: {disagree.item<long>()} of {argmax.numel()} labels differ from the logits' argmax");
            }
        }
        using (var wrongType = empty(new long[] { 2, 64, 64 }, labelType == ScalarType.Byte ? ScalarType.Int64 : ScalarType.Byte))
        using (var images = randn(2, 3, 64, 64))
            Assert.Throws<ArgumentException>(() => cut.RunLabelsInto(images, wrongType));
    }

    [Fact]
    public void Graphs_that_are_not_a_float32_export_run_whole()
    {
        using var model = SpreadModels.Value["OnnxS8Mask"].Create(null);
        var float16 = OnnxExporter.Export(model, new OnnxExportOptions { Float16 = true }).ToByteArray();
        Assert.Null(OnnxGraphSplit.TryCut(float16));
        Assert.Null(OnnxGraphSplit.TryCut(new byte[] { 1, 2, 3, 4, 5 }));
        using var session = new OnnxSession(float16, new OnnxSessionOptions { SplitAtUpsampling = true });
        Assert.False(session.CanRunLabels);
        using var images = randn(1, 3, 32, 32);
        using var labels = empty(new long[] { 1, 32, 32 }, ScalarType.Byte);
        Assert.Contains("SplitAtUpsampling", Assert.Throws<InvalidOperationException>(() => session.RunLabelsInto(images, labels)).Message);

        // The body and the head are ONNX models of their own, with the file's opsets and metadata.
        var parts = OnnxGraphSplit.TryCut(OnnxExporter.Export(model).ToByteArray())!;
        var body = Onnx.ModelProto.Parser.ParseFrom(parts.Body);
        var head = Onnx.ModelProto.Parser.ParseFrom(parts.Head);
        Assert.Equal(parts.Cut, body.Graph.Output.Select(o => o.Name));
        Assert.Equal(parts.Cut, head.Graph.Input.Select(i => i.Name));
        Assert.Equal(new[] { "logits" }, head.Graph.Output.Select(o => o.Name));
        Assert.DoesNotContain(head.Graph.Initializer, i => !i.Name.StartsWith("/constants/"));
        Assert.Equal(OnnxExporter.Export(model).MetadataProps, body.MetadataProps);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    [InlineData(4)]
    public unsafe void The_upsampled_argmax_is_the_argmax_of_the_interpolation_products_at_every_vector_width(int lanes)
    {
        // Maps of 5 classes at 6×5, to 23×37 through matrices of two neighbouring weights per row (some rows of one).
        manual_seed(lanes);
        const int classes = 5, h = 6, w = 5, height = 23, width = 37;
        using var maps = randn(2, classes, h, w);
        using var rows = Interpolation(height, h);
        using var columns = Interpolation(width, w);
        using var logits = rows.matmul(maps.matmul(columns.t()));
        using var expected = logits.argmax(1);
        using var labels = empty(new long[] { 2, height, width }, ScalarType.Byte);
        var shape = new UpsampledArgmax.Shape(2, classes, h, w, height, width);
        UpsampledArgmax.Labels(shape, (float*)TensorMemory.Address(maps), (float*)TensorMemory.Address(rows), (float*)TensorMemory.Address(columns),
            (void*)TensorMemory.Address(labels), bytes: true, threads: 2, lanes);
        using var disagree = labels.to(ScalarType.Int64).ne(expected).sum();
        Assert.Equal(0, disagree.item<long>());

        static Tensor Interpolation(int to, int from)
        {
            var matrix = new float[to * from];
            for (int o = 0; o < to; o++)
            {
                double source = Math.Max(0, (o + 0.5) * from / to - 0.5);
                int lower = Math.Min((int)source, from - 1), upper = Math.Min(lower + 1, from - 1);
                float lambda = (float)(source - lower);
                matrix[o * from + lower] += 1 - lambda;
                matrix[o * from + upper] += lambda;
            }
            return tensor(matrix, new long[] { to, from });
        }
    }

    [Theory]
    [InlineData(18)]
    [InlineData(20)]
    [InlineData(23)]
    public void Newer_opsets_export_the_same_model(int opset)
    {
        using var model = SpreadModels.Value["OnnxS8Mask"].Create(null);
        var path = Export(model, new OnnxExportOptions { Opset = opset }, $"opset{opset}");
        using var session = new OnnxSession(path);
        using var images = randn(1, 3, 40, 48);
        using var expected = model.Predict(images);
        using var logits = session.Run(images);
        TensorAssert.AtMost(logits - expected, 1e-4);
        // From opset 23 the attention is ONNX's own Attention operator (the encoder's blocks and the mask decoder's), not
        // products and a softmax that write out the [T, T] weights.
        var nodes = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node;
        int attentionModules = model.named_modules().Count(m => m.module is Segmenter.Runtime.SelfAttention);
        Assert.Equal(opset >= 23 ? attentionModules : 0, nodes.Count(n => n.OpType == "Attention" && n.Domain == ""));
        // Below opset 23 each attention module writes its softmax (one per head on CPU files, which is the default layout).
        var softmaxModules = nodes.Where(n => n.OpType == "Softmax" && n.Name.Contains("/attn/", StringComparison.Ordinal))
            .Select(n => n.Name[..n.Name.IndexOf("/attn/", StringComparison.Ordinal)]).Distinct().Count();
        Assert.Equal(opset >= 23 ? 0 : attentionModules, softmaxModules);
    }

    [Fact]
    public void Float16_exports_stay_close_in_float32_input_and_output()
    {
        using var model = SpreadModels.Value["OnnxS8Mask"].Create(null);
        var path = Export(model, new OnnxExportOptions { Float16 = true }, "fp16");
        using var session = new OnnxSession(path);
        using var images = randn(1, 3, 64, 64);
        using var expected = model.Predict(images);
        using var logits = session.Run(images);
        var difference = (logits - expected).abs().max().item<float>();
        output.WriteLine($"float16: max |Δ| = {difference}");
        Assert.True(difference <= 5e-2, $"float16: {difference}");
        Assert.True(new FileInfo(path).Length < new FileInfo(Export(model, new OnnxExportOptions(), "fp32")).Length * 0.6);
    }

    [SkippableFact]
    public void Exported_files_pass_the_onnx_checker()
    {
        OnnxChecker.RequireOrSkip();
        foreach (var name in new[] { "OnnxT16", "OnnxBDeitMask", "OnnxBicubic" })
        {
            using var model = SpreadModels.Value[name].Create(null);
            var path = Export(model, new OnnxExportOptions { Labels = true }, name + "-checked");
            Assert.Null(OnnxChecker.Check(path));
        }
    }

    [Fact]
    public void Files_carry_initializers_named_by_state_dict_key_scoped_nodes_and_metadata()
    {
        using var model = SpreadModels.Value["OnnxBDeitMask"].Create(null);
        var proto = OnnxExporter.Export(model);
        var initializers = proto.Graph.Initializer.Select(i => i.Name).Where(n => !n.StartsWith("/constants/")).ToHashSet();
        Assert.Equal(model.state_dict().Keys.ToHashSet(), initializers);
        Assert.Contains(proto.Graph.Node, n => n.Name == "/encoder/blocks.0/attn/MatMul");
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        var metadata = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("OnnxBDeitMask", metadata[OnnxMetadata.Model]);
        Assert.Contains("[0.485,0.456,0.406]", metadata[OnnxMetadata.Mean]);
        Assert.Equal(model.Specification, SpecCompiler.Compile(metadata[OnnxMetadata.Spec]).Models.Single().Spec);
        Assert.Equal(new[] { "batch", "3", "height", "width" }, proto.Graph.Input.Single().Type.TensorType.Shape.Dim.Select(d => d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString()));
    }

    [Fact]
    public void The_fused_flavour_uses_onnx_runtimes_contrib_operators()
    {
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        var proto = OnnxExporter.Export(model, new OnnxExportOptions { Flavour = OnnxFlavour.Fused });
        Assert.Equal(2, proto.Graph.Node.Count(n => n.OpType == "Attention" && n.Domain == "com.microsoft"));
        Assert.Equal(2, proto.Graph.Node.Count(n => n.OpType == "BiasGelu"));
        Assert.Contains(proto.OpsetImport, o => o.Domain == "com.microsoft");
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Softmax");
    }

    [Fact]
    public void The_triton_configuration_matches_its_golden_file()
    {
        Assert.Equal("""
            name: "segt16"
            platform: "onnxruntime_onnx"
            max_batch_size: 4
            input [
              {
                name: "image"
                data_type: TYPE_FP32
                dims: [ 3, -1, -1 ]
              }
            ]
            output [
              {
                name: "logits"
                data_type: TYPE_FP32
                dims: [ 150, -1, -1 ]
              },
              {
                name: "labels"
                data_type: TYPE_UINT8
                dims: [ -1, -1 ]
              }
            ]
            dynamic_batching {
              max_queue_delay_microseconds: 100
            }
            parameters {
              key: "enable_mem_pattern"
              value: { string_value: "0" }
            }
            instance_group [
              {
                count: 1
                kind: KIND_AUTO
              }
            ]

            """, TritonRepository.Config("segt16", 150, labels: true, new TritonSettings { MaxBatch = 4 }));

        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        var entry = TritonRepository.Write(Path.Combine(temporary.FullName, "repository"), "tiny", OnnxExporter.Export(model), 150, labels: false, new TritonSettings { MaxBatch = 2 });
        Assert.True(File.Exists(Path.Combine(entry, "config.pbtxt")));
        Assert.True(File.Exists(Path.Combine(entry, "1", "model.onnx")));
        Assert.Contains("max_batch_size: 2", File.ReadAllText(Path.Combine(entry, "config.pbtxt")));
    }

    [Theory]
    [InlineData("SegT16", "segt16")]
    [InlineData("Café_Net", "cafe_net")]
    [InlineData("My Model!", "my_model")]
    public void Triton_names_are_made_from_model_names(string model, string expected) => Assert.Equal(expected, TritonRepository.SuggestName(model));

    [Fact]
    public void Models_named_without_ascii_letters_get_triton_names_of_their_own()
    {
        var names = new[] { "Модель", "Модуль", "模型", "Model1", "Модель2" }.Select(TritonRepository.SuggestName).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Matches("^model_[0-9a-f]{8}$", names[0]);
        Assert.Matches("^model1$", names[3]);
        Assert.Matches("^2_[0-9a-f]{8}$", names[4]);
        Assert.All(names, n => TritonRepository.Validate(n, new TritonSettings()));
        Assert.Equal(names[0], TritonRepository.SuggestName("Модель"));   // the same model, the same folder
    }

    [Fact]
    public void A_static_export_fixes_height_and_width_and_its_triton_entry_warms_up_tensorrt()
    {
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        model.eval();
        var result = VerifiedExport.Run(model, new ExportRequest
        {
            Options = new OnnxExportOptions { StaticSize = (40, 56), Labels = true },
            TritonRepository = Path.Combine(temporary.FullName, "static-repository"),
            Triton = new TritonSettings
            {
                MaxBatch = 4,
                Instances = 2,
                TensorRt = new TensorRtSettings { Float16 = true, CachePath = "/cache", Profile = (new TensorShape(1, 40, 56), new TensorShape(2, 40, 56), new TensorShape(4, 40, 56)) },
            },
        });
        // The graph declares the fixed size (batch dynamic) and the check ran at that size only.
        var dims = result.Model.Graph.Input.Single().Type.TensorType.Shape.Dim;
        Assert.Equal(new object[] { "batch", 3L, 40L, 56L }, dims.Select(d => d.DimParam.Length > 0 ? (object)d.DimParam : d.DimValue));
        Assert.Equal((40, 56), TritonRepository.StaticSize(result.Model));
        Assert.All(result.Runs, r => Assert.Equal(new long[] { 40, 56 }, r.Shape[2..]));
        Assert.All(result.Runs, r => Assert.True(r.MaxAbsoluteDifference < 1e-4));

        var config = File.ReadAllText(Path.Combine(result.TritonEntry!, "config.pbtxt"));
        Assert.Contains("dims: [ 3, 40, 56 ]", config);
        Assert.Contains("dims: [ 40, 56 ]", config);   // labels
        Assert.Contains("count: 2\n    kind: KIND_GPU", config);
        Assert.Contains("name : \"tensorrt\"", config);
        Assert.Contains("parameters { key: \"precision_mode\" value: \"FP16\" }", config);
        Assert.Contains("parameters { key: \"trt_layer_norm_fp32_fallback\" value: \"1\" }", config);
        Assert.Contains("parameters { key: \"trt_engine_cache_path\" value: \"/cache\" }", config);
        Assert.Contains("parameters { key: \"trt_profile_max_shapes\" value: \"image:4x3x40x56\" }", config);
        Assert.Contains("model_warmup [\n  {\n    name: \"image_40x56\"\n    batch_size: 1", config);
        Assert.Contains("dims: [ 3, 40, 56 ]\n        zero_data: true", config);

        var file = Path.Combine(temporary.FullName, "static.onnx");
        OnnxExporter.Save(result.Model, file);
        using (var session = new OnnxSession(file))
        {
            Assert.Equal((40, 56), session.StaticSize);
            Assert.Contains("exported for 40×56 images only", Assert.Throws<ArgumentException>(() => session.Run(randn(1, 3, 48, 48))).Message);
            using var logits = session.Run(randn(1, 3, 40, 56));
            Assert.Equal(new long[] { 1, 150, 40, 56 }, logits.shape);
        }
        var outside = new TritonSettings { Warmup = new[] { (512, 512) }, TensorRt = new TensorRtSettings { Profile = (new TensorShape(1, 8, 8), new TensorShape(2, 16, 16), new TensorShape(4, 32, 32)) } };
        Assert.Contains("warm-up size 512x512 is outside --trt-profile", Assert.Throws<ArgumentException>(() => TritonRepository.Validate("m", outside)).Message);

        var tooLarge = new TritonSettings { MaxBatch = 2, TensorRt = new TensorRtSettings { Profile = (new TensorShape(1, 8, 8), new TensorShape(2, 8, 8), new TensorShape(4, 8, 8)) } };
        Assert.Contains("above --max-batch 2", Assert.Throws<ArgumentException>(() => TritonRepository.Validate("m", tooLarge)).Message);
        var shrinking = new TritonSettings { TensorRt = new TensorRtSettings { Profile = (new TensorShape(1, 64, 64), new TensorShape(1, 32, 32), new TensorShape(1, 64, 64)) } };
        Assert.Contains("must grow from min to opt to max", Assert.Throws<ArgumentException>(() => TritonRepository.Validate("m", shrinking)).Message);
    }

    [Fact]
    public void An_int8_export_runs_every_linear_layer_as_an_integer_product_in_standard_operators()
    {
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        model.eval();
        var proto = OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true });
        int linears = model.named_parameters().Count(p => p.name.EndsWith(".weight") && p.parameter.dim() == 2);
        Assert.Equal(linears, proto.Graph.Node.Count(n => n.OpType == "MatMulInteger"));
        Assert.Equal(linears, proto.Graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
        Assert.All(proto.Graph.Node, n => Assert.Equal("", n.Domain));   // standard operators only
        Assert.Contains(proto.Graph.Initializer, t => t.Name == "encoder.blocks.0.mlp.fc1.weight.int8" && t.DataType == (int)Onnx.TensorProto.Types.DataType.Int8);
        Assert.DoesNotContain(proto.Graph.Initializer, t => t.Name == "encoder.blocks.0.mlp.fc1.weight");   // no float copy of a quantised weight
        Assert.Contains("cannot be combined", Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true, Float16 = true })).Message);

        var runs = ExportVerification.Run(model, proto);
        foreach (var run in runs)
        {
            Assert.InRange(run.LabelAgreement, 0, 1);
            Assert.True(run.MaxAbsoluteDifference < 1.0, $"int8 logits differ by {run.MaxAbsoluteDifference} from float32");
        }
    }

    [Fact]
    public void A_fused_int8_export_keeps_the_integer_products_and_runs_attention_in_onnx_runtimes_multi_head_attention()
    {
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        model.eval();
        var portable = OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true });
        var fused = OnnxExporter.Export(model, new OnnxExportOptions { Int8 = true, Flavour = OnnxFlavour.Fused });
        int linears = model.named_parameters().Count(p => p.name.EndsWith(".weight") && p.parameter.dim() == 2);
        int blocks = model.named_modules().Count(m => m.module is Segmenter.Runtime.SelfAttention);
        Assert.Equal(linears, fused.Graph.Node.Count(n => n.OpType == "MatMulInteger"));
        var attention = fused.Graph.Node.Where(n => n.OpType == "MultiHeadAttention").ToList();
        Assert.Equal(blocks, attention.Count);
        Assert.All(attention, n => Assert.Equal("com.microsoft", n.Domain));
        Assert.DoesNotContain(fused.Graph.Node, n => n.OpType == "Softmax" || n.OpType == "Attention");
        Assert.Equal("true", fused.MetadataProps.Single(p => p.Key == OnnxMetadata.Int8).Value);
        Assert.Equal("fused", fused.MetadataProps.Single(p => p.Key == OnnxMetadata.Flavour).Value);

        // The same integer products, only the attention computed another way: the two files' logits agree to float rounding.
        using var input = randn(1, 3, 48, 40);
        using var portableSession = new OnnxSession(portable.ToByteArray());
        using var fusedSession = new OnnxSession(fused.ToByteArray());
        using var expected = portableSession.Run(input);
        using var actual = fusedSession.Run(input);
        double difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference < 1e-3, $"fused int8 logits differ by {difference} from the portable int8 graph's");
        Assert.All(ExportVerification.Run(model, fused), run => Assert.True(run.MaxAbsoluteDifference < 1.0, $"int8 logits differ by {run.MaxAbsoluteDifference} from float32"));
    }

    [Fact]
    public void TensorRT_session_options_carry_precision_caches_and_the_shape_profile()
    {
        var options = new OnnxSessionOptions
        {
            Provider = "tensorrt",
            DeviceId = 1,
            TensorRt = new TensorRtSettings { Float16 = true, CachePath = "/var/cache/trt", Profile = (new TensorShape(1, 256, 256), new TensorShape(2, 512, 512), new TensorShape(4, 1024, 1024)) },
        };
        var values = OnnxSession.TensorRtProviderOptions(options);
        Assert.Equal("1", values["device_id"]);
        Assert.Equal("1", values["trt_fp16_enable"]);
        Assert.Equal("1", values["trt_layer_norm_fp32_fallback"]);
        Assert.Equal("/var/cache/trt", values["trt_engine_cache_path"]);
        Assert.Equal("/var/cache/trt", values["trt_timing_cache_path"]);
        Assert.Equal("image:1x3x256x256", values["trt_profile_min_shapes"]);
        Assert.Equal("image:2x3x512x512", values["trt_profile_opt_shapes"]);
        Assert.Equal("image:4x3x1024x1024", values["trt_profile_max_shapes"]);
        var plain = OnnxSession.TensorRtProviderOptions(new OnnxSessionOptions { Provider = "tensorrt" });
        Assert.Equal("0", plain["trt_fp16_enable"]);
        Assert.False(plain.ContainsKey("trt_profile_min_shapes"));
        Assert.False(plain.ContainsKey("trt_layer_norm_fp32_fallback"));

        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        var path = Export(model, new OnnxExportOptions(), "tensorrt");
        if (!OnnxSession.AvailableProviders().Contains("TensorrtExecutionProvider"))
            Assert.Contains("TensorRT 10", Assert.Throws<NotSupportedException>(() => new OnnxSession(path, options)).Message);
    }

    [Fact]
    public void Bad_inputs_and_providers_get_clear_errors()
    {
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        var path = Export(model, new OnnxExportOptions(), "errors");
        using var session = new OnnxSession(path);
        Assert.Contains("[batch, 3, height, width], got [1, 1, 32, 32]", Assert.Throws<ArgumentException>(() => session.Run(randn(1, 1, 32, 32))).Message);
        Assert.Contains("got [3, 32, 32]", Assert.Throws<ArgumentException>(() => session.Run(randn(3, 32, 32))).Message);
        Assert.Contains("unknown execution provider 'tpu'", Assert.Throws<ArgumentException>(() => new OnnxSession(path, new OnnxSessionOptions { Provider = "tpu" })).Message);
        if (!OnnxSession.AvailableProviders().Contains("CUDAExecutionProvider"))
            Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", Assert.Throws<NotSupportedException>(() => new OnnxSession(path, new OnnxSessionOptions { Provider = "cuda" })).Message);
    }

    [Fact]
    public void Weights_in_a_data_file_run_as_the_single_file_does_and_a_new_export_replaces_its_data()
    {
        manual_seed(3);
        using var model = SpreadModels.Value["OnnxT16"].Create(null);
        model.eval();
        var proto = OnnxExporter.Export(model, new OnnxExportOptions());
        var single = Export(model, new OnnxExportOptions(), "single");
        var folder = Directory.CreateDirectory(Path.Combine(temporary.FullName, "external")).FullName;
        var path = Path.Combine(folder, "model.onnx");
        var unrelated = Path.Combine(folder, "model.onnx.backup.data");
        File.WriteAllText(unrelated, "the user's own file");
        OnnxExporter.Save(proto, path, externalData: true);

        var data = Assert.Single(OnnxExternalData.DataFiles(path));
        Assert.True(new FileInfo(path).Length * 10 < new FileInfo(single).Length, "the weights left the .onnx file");
        Assert.Equal(File.ReadAllBytes(single), proto.ToByteArray());   // the model in memory is unchanged
        var written = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var external = written.Graph.Initializer.Where(t => t.DataLocation == Onnx.TensorProto.Types.DataLocation.External).ToList();
        Assert.NotEmpty(external);
        Assert.All(external, t =>
        {
            var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal(Path.GetFileName(data), entries["location"]);
            Assert.Equal(0, long.Parse(entries["offset"]) % OnnxExternalData.Alignment);   // where ONNX Runtime can map it
            Assert.True(t.RawData.IsEmpty);
        });

        using var images = randn(2, 3, 64, 48);
        using var whole = new OnnxSession(single, new OnnxSessionOptions { Threads = 1 });
        using var mapped = new OnnxSession(path, new OnnxSessionOptions { Threads = 1 });
        using var cut = new OnnxSession(path, new OnnxSessionOptions { Threads = 1, SplitAtUpsampling = true });   // opened from bytes: the data found beside the file
        Assert.True(cut.CanRunLabels);
        using var expected = whole.Run(images);
        using var fromData = mapped.Run(images);
        using var fromCut = cut.Run(images);
        TensorAssert.AtMost(fromData - expected, 0);
        TensorAssert.AtMost(fromCut - expected, 1e-6);

        // Other weights: a new data file. The old one stays while a copy of the old .onnx file names it (a user's backup), and
        // that copy still runs; it goes with the next export once nothing names it. An unchanged export leaves its data file as
        // it is; a single-file export over it leaves no data file; the user's own file stays throughout.
        var backup = Path.Combine(folder, "model-previous.onnx");
        File.Copy(path, backup);
        manual_seed(4);
        using var other = SpreadModels.Value["OnnxT16"].Create(null);
        var otherProto = OnnxExporter.Export(other, new OnnxExportOptions());
        OnnxExporter.Save(otherProto, path, externalData: true);
        Assert.Equal(2, OnnxExternalData.DataFiles(path).Length);
        var replaced = Assert.Single(OnnxExternalData.DataFiles(path), f => f != data);
        using (var previous = new OnnxSession(backup, new OnnxSessionOptions { Threads = 1 }))
        using (var fromBackup = previous.Run(images))
            TensorAssert.AtMost(fromBackup - expected, 0);
        File.Delete(backup);
        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(replaced, past);
        OnnxExporter.Save(otherProto, path, externalData: true);
        Assert.Equal(replaced, Assert.Single(OnnxExternalData.DataFiles(path)));
        Assert.Equal(past, File.GetLastWriteTimeUtc(replaced));
        Assert.False(File.Exists(data));
        OnnxExporter.Save(proto, path);
        Assert.Empty(OnnxExternalData.DataFiles(path));
        Assert.True(File.Exists(unrelated));

        // A file moved without its data: refused when opened, naming what is missing.
        OnnxExporter.Save(proto, path, externalData: true);
        File.Delete(Assert.Single(OnnxExternalData.DataFiles(path)));
        var error = Assert.Throws<InvalidDataException>(() => new OnnxSession(path).Dispose());
        output.WriteLine(error.Message);
        Assert.Contains(".data", error.Message);
    }
}
