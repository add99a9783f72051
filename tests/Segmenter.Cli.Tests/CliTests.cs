using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;
using Segmenter.Tests;

namespace Segmenter.Cli.Tests;

/// <summary>The <c>segmenter</c> command, run in-process.</summary>
public sealed class CliTests
{
    internal static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void List_json_holds_every_architecture_with_its_shape()
    {
        var (exit, output, _) = Run("list", "--json");
        Assert.Equal(0, exit);
        var models = JsonDocument.Parse(output).RootElement.EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(14, models.Count);
        var b8 = models["SegB8"];
        Assert.Equal(768, b8.GetProperty("width").GetInt32());
        Assert.Equal(12, b8.GetProperty("layers").GetInt32());
        Assert.Equal(12, b8.GetProperty("heads").GetInt32());
        Assert.Equal(8, b8.GetProperty("patch").GetInt32());
        Assert.Equal(new[] { 512, 512 }, b8.GetProperty("image").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(150, b8.GetProperty("classes").GetInt32());
        Assert.Equal("linear", b8.GetProperty("decoder").GetString());
        Assert.Equal(0, b8.GetProperty("decoderLayers").GetInt32());
        Assert.False(b8.GetProperty("distilled").GetBoolean());
        Assert.Equal(89235838 - 769000, b8.GetProperty("parameters").GetInt64());
        var cityscapes = models["SegLMask16Cityscapes"];
        Assert.Equal(("mask", 1, 19), (cityscapes.GetProperty("decoder").GetString(), cityscapes.GetProperty("decoderLayers").GetInt32(), cityscapes.GetProperty("classes").GetInt32()));
        Assert.True(models["SegBDeiTMask16"].GetProperty("distilled").GetBoolean());
    }

    [Fact]
    public void Show_state_dict_prints_the_reference_listing()
    {
        var (exit, output, _) = Run("show", "SegTMask16", "--state-dict");
        Assert.Equal(0, exit);
        var expected = ReferenceListings.Table1["seg-t16-mask"].Lines.Where(l => !ReferenceListings.IsUnusedHead(l));
        Assert.Equal(expected, output.Split('\n', System.StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Show_json_gives_parameters_per_part_and_flops_at_a_size()
    {
        var (exit, output, _) = Run("show", "SegT16", "--json", "--size", "1024x512");
        Assert.Equal(0, exit);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(5683392, root.GetProperty("parameters").GetProperty("encoder").GetInt64());
        Assert.Equal(28950, root.GetProperty("parameters").GetProperty("decoder").GetInt64());
        Assert.Equal(5905342, root.GetProperty("parameters").GetProperty("referenceTotalWithUnusedHeads").GetInt64());
        Assert.Equal(new[] { 1024, 512 }, root.GetProperty("flops").GetProperty("size").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(2.0 * 2048 * 192 * 150, root.GetProperty("flops").GetProperty("decoder").GetDouble());
        Assert.Equal("wall", root.GetProperty("spec").GetProperty("classNames")[0].GetString());
    }

    [Fact]
    public void Show_and_emit_work_on_a_spec_outside_the_repository()
    {
        var directory = Directory.CreateTempSubdirectory("segmenter-cli-");
        try
        {
            var path = Path.Combine(directory.FullName, "new.seg");
            File.WriteAllText(path, "backbone Mini { layers = 2 width = 96 heads = 3 }\nmodel Mine { backbone = Mini patch = 16 image = 128 classes = 7 decoder = mask(layers = 1, heads = 3) }\n");
            var (exit, output, error) = Run("show", path + ":Mine", "--json");
            Assert.True(exit == 0, error);
            Assert.Equal(7, JsonDocument.Parse(output).RootElement.GetProperty("spec").GetProperty("classes").GetInt32());

            var emitted = Run("emit", path, "--namespace", "My.Models");
            Assert.Equal(0, emitted.Exit);
            Assert.Contains("namespace My.Models", emitted.Output);
            Assert.Contains("public sealed partial class Mine : Runtime.SegmenterModel", emitted.Output);
            var keyword = Run("emit", path, "--namespace", "My.class");
            Assert.Equal(1, keyword.Exit);
            Assert.Contains("is not a C# namespace", keyword.Error);
            var pythonNamespace = Run("emit", path + ":Mine", "--target", "pytorch", "--namespace", "My.Models");
            Assert.Equal(1, pythonNamespace.Exit);
            Assert.Contains("a PyTorch module has none", pythonNamespace.Error);

            // A declaration from a file beside it may be used; that file's problems are reported in it, where they can be fixed.
            var shared = Path.Combine(directory.FullName, "shared.seg");
            File.WriteAllText(shared, "backbone Wide { layers = 1 width = 100 heads = 3 }\n");
            File.WriteAllText(path, "model Mine { backbone = Wide patch = 16 image = 128 classes = 7 decoder = linear }\n");
            var broken = Run("show", path + ":Mine");
            Assert.Equal(1, broken.Exit);
            Assert.Contains($"{shared}(1,48): error SEGDSL0201: Backbone 'Wide': 3 heads do not divide width 100", broken.Error);

            File.WriteAllText(shared, "backbone Wide { layers = 1 width = 96 heads = 3 \n");   // a syntax error
            var unparsable = Run("show", path + ":Mine");
            Assert.Equal(1, unparsable.Exit);
            Assert.Contains($"{shared}(1,48): error SEGDSL0005: Expected '}}' but found the end of the file", unparsable.Error);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Check_prints_located_diagnostics_and_fails_on_errors()
    {
        var directory = Directory.CreateTempSubdirectory("segmenter-check-");
        try
        {
            var bad = Path.Combine(directory.FullName, "bad.seg");
            File.WriteAllText(bad, "model Bad : SegT16 {\n  decoder = mask(heads = 5)\n  dropout = 2\n}\n");
            var (exit, output, _) = Run("check", bad);
            Assert.Equal(1, exit);
            Assert.Contains($"{bad}(2,26): error SEGDSL0202:", output);
            Assert.Contains($"{bad}(3,13): error SEGDSL0104: 'dropout' must be ≥ 0 and < 1 but is 2", output);

            var twice = Run("check", bad, bad, "--context");   // one file named twice is one file
            Assert.Equal(1, twice.Exit);
            Assert.DoesNotContain("already declared", twice.Output);
            Assert.Contains("  3 |   dropout = 2", twice.Output);
            Assert.EndsWith("1 file, 0 models, 2 errors", twice.Output.Trim());

            var zoo = Directory.GetFiles(TestPaths.Specs, "*.seg");
            var clean = Run(new[] { "check" }.Concat(zoo).ToArray());
            Assert.Equal(0, clean.Exit);
            Assert.Equal($"{zoo.Length} files, 14 models, 0 errors", clean.Output.Trim());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Bench_reports_every_backend_as_json()
    {
        var directory = Directory.CreateTempSubdirectory("segmenter-bench-");
        try
        {
            var spec = Path.Combine(directory.FullName, "bench.seg");
            File.WriteAllText(spec, "backbone B { layers = 1 width = 32 heads = 2 }\nmodel BenchTiny { backbone = B patch = 8 image = 32 classes = 3 decoder = mask(layers = 1, heads = 2) }\n");
            var (exit, output, error) = Run("bench", spec, "--backend", "torch", "onnx", "onnx-fused", "--size", "40x48", "24", "--batch", "2", "--iters", "2", "--warmup", "1", "--json");
            Assert.True(exit == 0, error);
            var results = System.Text.Json.JsonDocument.Parse(output).RootElement.EnumerateArray().ToList();
            Assert.Equal(new[] { "torch", "onnx", "onnx-fused", "torch", "onnx", "onnx-fused" }, results.Select(r => r.GetProperty("backend").GetString()));
            Assert.Equal(new[] { 40, 40, 40, 24, 24, 24 }, results.Select(r => r.GetProperty("size")[0].GetInt32()));
            foreach (var result in results)
            {
                Assert.Equal("BenchTiny", result.GetProperty("model").GetString());
                Assert.Equal(result.GetProperty("size")[0].GetInt32() == 40 ? 48 : 24, result.GetProperty("size")[1].GetInt32());
                Assert.False(string.IsNullOrEmpty(result.GetProperty("peakSetBy").GetString()));
                // Every kernel the models run on: libtorch's, and ONNX Runtime's with its weights as inputs and packed as in a model.
                Assert.Equal(new[] { "libtorch", "onnxruntime", "onnxruntime (packed weights)" }, result.GetProperty("peakByKernel").EnumerateObject().Select(k => k.Name));
                Assert.True(result.GetProperty("matmulPeakGflops").GetDouble() >= result.GetProperty("peakByKernel").EnumerateObject().Max(k => k.Value.GetDouble()) - 0.01);
                Assert.False(result.TryGetProperty("int8ProductGops", out _), "int8 products are measured for the int8 backends only");
                Assert.Equal(System.Text.Json.JsonValueKind.Array, result.GetProperty("isa").ValueKind);
                Assert.Equal(System.Environment.ProcessorCount, result.GetProperty("logicalProcessors").GetInt32());
                if (result.GetProperty("physicalCores").ValueKind != System.Text.Json.JsonValueKind.Null)
                    Assert.InRange(result.GetProperty("physicalCores").GetInt32(), 1, System.Environment.ProcessorCount);
                Assert.InRange(result.GetProperty("tokenMixingShare").GetDouble(), 0, 1);
                // What a pass must hold at the least: the weights, the mask decoder's block (the patches and 3 class tokens, width 32, MLP 128)
                // and the logits, in float32, for 2 images.
                var beyondWeights = result.GetProperty("memoryNeedBytes").GetInt64() - result.GetProperty("parameterBytes").GetInt64();
                Assert.Equal(4 * 2 * (result.GetProperty("size")[0].GetInt32() == 40 ? 33 * 480 + 3 * 40 * 48 : 12 * 480 + 3 * 24 * 24), beyondWeights);
                Assert.Equal(result.GetProperty("peakRssBytes").GetInt64() / (double)result.GetProperty("memoryNeedBytes").GetInt64(), result.GetProperty("peakRssOverNeed").GetDouble(), 3);
                Assert.Equal(2, result.GetProperty("batch").GetInt32());
                Assert.True(result.GetProperty("latencyMedianMs").GetDouble() > 0);
                Assert.True(result.GetProperty("latencyP90Ms").GetDouble() >= result.GetProperty("latencyMedianMs").GetDouble());
                Assert.True(result.GetProperty("gflopsPerImage").GetDouble() > 0);
                Assert.InRange(result.GetProperty("peakFraction").GetDouble(), 0, 1);   // the peak is the best rate any kernel reached
                Assert.True(result.TryGetProperty("otherLoad", out _) && result.TryGetProperty("steal", out _), "otherLoad and steal are reported");
            }
            // The ONNX backends ran exported files (their memory then ONNX Runtime's alone), and deleted them.
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $"segmenter-bench-{System.Environment.ProcessId}-*.onnx"));
            // With an int8 backend: ONNX Runtime's int8 product beside its float32 one, on the int8 results only.
            var int8 = Run("bench", spec, "--backend", "onnx", "onnx-int8", "--size", "32x32", "--iters", "1", "--warmup", "0", "--json");
            Assert.True(int8.Exit == 0, int8.Error);
            var int8Results = JsonDocument.Parse(int8.Output).RootElement.EnumerateArray().ToList();
            Assert.False(int8Results[0].TryGetProperty("int8ProductGops", out _));
            var quantised = int8Results[1];
            Assert.Equal("onnx-int8", quantised.GetProperty("backend").GetString());
            Assert.Equal("1025×768·768×3072", quantised.GetProperty("int8ProductShape").GetString());
            double gops = quantised.GetProperty("int8ProductGops").GetDouble(), speedup = quantised.GetProperty("int8ProductSpeedup").GetDouble();
            Assert.True(gops > 0 && speedup > 0, quantised.ToString());
            Assert.InRange(gops / speedup, 0.5, 2 * quantised.GetProperty("matmulPeakGflops").GetDouble());   // the float32 product it is compared with
            // How each file writes attention: export's default for a CPU (one head at a time), or --attention.
            Assert.Equal(new[] { "per-head", "per-head" }, int8Results.Select(r => r.GetProperty("attention").GetString()));
            var batched = Run("bench", spec, "--backend", "onnx", "--attention", "batched", "--size", "32x32", "--iters", "1", "--warmup", "0", "--json");
            Assert.True(batched.Exit == 0, batched.Error);
            Assert.Equal("batched", JsonDocument.Parse(batched.Output).RootElement[0].GetProperty("attention").GetString());
            var refused = Run("bench", spec, "--backend", "onnx", "onnx-fused", "--attention", "batched", "--size", "32x32", "--iters", "1", "--json");
            Assert.Equal(1, refused.Exit);
            Assert.Contains("--backend onnx-fused: --attention chooses how the portable graph", refused.Error);
            var noFile = Run("bench", spec, "--backend", "torch", "--external-data", "--size", "32x32", "--iters", "1", "--json");
            Assert.Equal(1, noFile.Exit);
            Assert.Contains("--external-data chooses how the onnx and onnx-int8 backends' files are written", noFile.Error);
            // A training step's batch is one image per thread unless --batch is given.
            var training = Run("bench", spec, "--train", "--profile", "--size", "32x32", "--threads", "2", "--iters", "2", "--warmup", "0", "--json");
            Assert.True(training.Exit == 0, training.Error);
            var step = JsonDocument.Parse(training.Output).RootElement[0];
            Assert.Equal("train", step.GetProperty("mode").GetString());
            Assert.Equal(2, step.GetProperty("batch").GetInt32());
            Assert.Equal(2, step.GetProperty("shards").GetInt32());
            Assert.True(step.GetProperty("shardCpuSpread").GetDouble() >= 0, "two shards: how evenly their cores ran is reported");
            // --profile with --train: the step's stages, which add up to about a step, and each shard's own times.
            var stages = step.GetProperty("stagesMs").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            Assert.Equal(new[] { "zeroing gradients", "forward and loss", "backward", "adding gradients", "shard threads waiting for one another", "optimizer update" }, stages.Keys);
            Assert.True(stages["forward and loss"] > 0 && stages["backward"] > 0, string.Join(", ", stages));
            Assert.All(stages.Values, ms => Assert.True(ms >= 0));
            double mean = step.GetProperty("latencyMedianMs").GetDouble();   // the median of 2 runs is their mean
            Assert.InRange(stages.Values.Sum(), 0.98 * mean - 0.05, 1.02 * mean + 0.05);   // rounded to 0.01 ms each
            var shards = step.GetProperty("shardsMs").EnumerateArray().ToList();
            Assert.Equal(2, shards.Count);
            Assert.All(shards, s => Assert.True(s.GetProperty("images").GetInt32() == 1 && s.GetProperty("forward").GetDouble() > 0 && s.GetProperty("backward").GetDouble() > 0
                && s.GetProperty("computeCpu").GetDouble() > 0, s.ToString()));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Unknown_models_and_missing_files_are_one_line_errors()
    {
        var (exit, _, error) = Run("show", "SegT61");
        Assert.Equal(1, exit);
        Assert.StartsWith("error: unknown model 'SegT61': zoo models are SegT16,", error);
        var missing = Run("check", "/nonexistent/x.seg");
        Assert.Equal(1, missing.Exit);
        Assert.Equal("error: spec file '/nonexistent/x.seg' does not exist", missing.Error.Trim());
    }
}
