using System.IO;
using System.Linq;
using Segmenter.Runtime.Checkpoints;
using Xunit;
using Segmenter.Tests;

namespace Segmenter.Cli.Tests;

/// <summary>The weight-handling commands, run in-process as a user would run them.</summary>
public sealed class CliWeightsTests : System.IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-cli-weights-");

    public void Dispose() => temporary.Delete(recursive: true);

    [Theory]
    [InlineData("micro-linear")]
    [InlineData("micro-mask")]
    [InlineData("micro-deit-mask")]
    public void Predict_from_a_variant_yml_reproduces_the_reference_logits(string fixture)
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture(fixture, "variant.yml"))!;
        var output = Path.Combine(temporary.FullName, fixture + ".safetensors");
        var (exit, _, error) = CliTests.Run("predict", Path.Combine(directory, "variant.yml"), "--checkpoint", Path.Combine(directory, "checkpoint.pth"),
            "--tensor", Path.Combine(directory, "io.safetensors") + ":input", "--logits", output, "--batch", "1");
        Assert.True(exit == 0, error);
        using var logits = SafeTensors.Read(output)["logits"];
        using var expected = SafeTensors.Read(Path.Combine(directory, "io.safetensors"))["logits"];
        Assert.Equal(expected.shape, logits.shape);
        TensorAssert.AtMost(logits - expected, 1e-4);
    }

    [Fact]
    public void Convert_writes_the_projects_format_which_predict_then_reads()
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture("micro-mask", "variant.yml"))!;
        var converted = Path.Combine(temporary.FullName, "micro-mask.safetensors");
        var (exit, output, error) = CliTests.Run("convert", Path.Combine(directory, "checkpoint.pth"), "--model", directory, "--out", converted);
        Assert.True(exit == 0, error);
        Assert.Contains("63 loaded", output);
        Assert.Equal("MicroMask", CheckpointFile.Read(converted).Metadata[ProjectCheckpoint.ModelKey]);

        var logits = Path.Combine(temporary.FullName, "logits.safetensors");
        var predicted = CliTests.Run("predict", directory, "--checkpoint", converted, "--tensor", Path.Combine(directory, "io.safetensors"), "--logits", logits);
        Assert.True(predicted.Exit == 0, predicted.Error);
        Assert.DoesNotContain("warning", predicted.Error);

        var untrained = CliTests.Run("predict", "SegT16", "--tensor", Path.Combine(directory, "io.safetensors"), "--logits", logits);
        Assert.True(untrained.Exit == 0, untrained.Error);
        Assert.Contains("warning: SegT16 has no checkpoint, so its weights are the random initialisation", untrained.Error);

        var wrongModel = CliTests.Run("predict", "SegT16", "--checkpoint", converted, "--tensor", Path.Combine(directory, "io.safetensors"), "--logits", logits);
        Assert.Equal(1, wrongModel.Exit);
        Assert.Contains("holds weights of model 'MicroMask'", wrongModel.Error);
    }

    [Fact]
    public void Export_verifies_itself_and_predict_runs_the_onnx_file()
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture("micro-deit-mask", "variant.yml"))!;
        var onnx = Path.Combine(temporary.FullName, "model.onnx");
        var (exit, output, error) = CliTests.Run("export", directory, "--out", onnx, "--labels", "--triton", Path.Combine(temporary.FullName, "triton"), "--name", "micro");
        Assert.True(exit == 0, error);
        Assert.Matches(@"verified input \[2, 3, 57, 67\]: max \|ONNX Runtime − TorchSharp\| = \d\.\d\dE-\d", output);
        Assert.Contains("opset 17, portable, attention per head", output);   // a CPU file's default
        Assert.True(File.Exists(Path.Combine(temporary.FullName, "triton", "micro", "1", "model.onnx")));
        // A file for TensorRT writes all heads at once: the fewest operators, for a GPU.
        var forGpu = CliTests.Run("export", directory, "--triton", Path.Combine(temporary.FullName, "triton"), "--name", "micro-trt", "--triton-tensorrt");
        Assert.True(forGpu.Exit == 0, forGpu.Error);
        Assert.Contains("opset 17, portable, attention batched", forGpu.Output);

        var logits = Path.Combine(temporary.FullName, "onnx-logits.safetensors");
        var predicted = CliTests.Run("predict", "--onnx", onnx, "--tensor", Path.Combine(directory, "io.safetensors") + ":input", "--logits", logits);
        Assert.True(predicted.Exit == 0, predicted.Error);
        using var actual = SafeTensors.Read(logits)["logits"];
        using var expected = SafeTensors.Read(Path.Combine(directory, "io.safetensors"))["logits"];
        TensorAssert.AtMost(actual - expected, 1e-4);

        // The weights in a data file beside the .onnx file: predict runs it as it runs the single file.
        var external = Path.Combine(temporary.FullName, "external.onnx");
        var split = CliTests.Run("export", directory, "--out", external, "--external-data");
        Assert.True(split.Exit == 0, split.Error);
        Assert.Matches(@"external\.onnx: [\d.]+ MB \(weights in external\.onnx\.[0-9a-f]{16}\.data, [\d.]+ MB\)", split.Output);
        var fromData = Path.Combine(temporary.FullName, "external-logits.safetensors");
        var predictedFromData = CliTests.Run("predict", "--onnx", external, "--tensor", Path.Combine(directory, "io.safetensors") + ":input", "--logits", fromData);
        Assert.True(predictedFromData.Exit == 0, predictedFromData.Error);
        using var dataLogits = SafeTensors.Read(fromData)["logits"];
        TensorAssert.AtMost(dataLogits - expected, 1e-4);
        // And in a Triton entry: the data file in the version folder beside model.onnx, where Triton's ONNX Runtime backend opens it.
        var repository = Path.Combine(temporary.FullName, "triton-external");
        var entry = CliTests.Run("export", directory, "--triton", repository, "--name", "seg", "--external-data");
        Assert.True(entry.Exit == 0, entry.Error);
        var version = Path.Combine(repository, "seg", "1");
        Assert.Single(Directory.GetFiles(version, "model.onnx.*.data"));
        var fromEntry = Path.Combine(temporary.FullName, "entry-logits.safetensors");
        var predictedFromEntry = CliTests.Run("predict", "--onnx", Path.Combine(version, "model.onnx"), "--tensor", Path.Combine(directory, "io.safetensors") + ":input", "--logits", fromEntry);
        Assert.True(predictedFromEntry.Exit == 0, predictedFromEntry.Error);
        using var entryLogits = SafeTensors.Read(fromEntry)["logits"];
        TensorAssert.AtMost(entryLogits - expected, 1e-4);

        // Metadata edited to disagree with the graph is refused, not trusted.
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        var spec = model.MetadataProps.Single(p => p.Key == Segmenter.Export.OnnxMetadata.Spec);
        Assert.Matches(@"classes\s*=\s*\d+", spec.Value);
        spec.Value = System.Text.RegularExpressions.Regex.Replace(spec.Value, @"classes\s*=\s*\d+", "classes = 9");
        var edited = Path.Combine(temporary.FullName, "edited.onnx");
        File.WriteAllBytes(edited, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var refused = CliTests.Run("predict", "--onnx", edited, "--tensor", Path.Combine(directory, "io.safetensors") + ":input", "--logits", logits);
        Assert.Equal(1, refused.Exit);
        Assert.Contains($"{edited}: its spec metadata says 9 classes, but the graph's logits have {expected.shape[1]}", refused.Error);
    }

    [Fact]
    public void A_failed_export_check_writes_nothing_and_replaces_nothing()
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture("micro-linear", "variant.yml"))!;
        var onnx = Path.Combine(temporary.FullName, "kept.onnx");
        File.WriteAllText(onnx, "the user's earlier export");
        var triton = Path.Combine(temporary.FullName, "repository");
        Directory.CreateDirectory(Path.Combine(triton, "other"));

        var failed = CliTests.Run("export", directory, "--out", onnx, "--triton", triton, "--name", "micro", "--tolerance", "0");
        Assert.Equal(1, failed.Exit);
        Assert.Contains("above the tolerance", failed.Error);
        Assert.Contains("nothing was written", failed.Error);
        Assert.Equal("the user's earlier export", File.ReadAllText(onnx));
        Assert.Equal(new[] { "other" }, Directory.GetDirectories(triton).Select(Path.GetFileName));

        var escaping = CliTests.Run("export", directory, "--triton", triton, "--name", "..");
        Assert.Equal(1, escaping.Exit);
        Assert.Contains("'..' cannot name a Triton model: use letters, digits, '-' and '_'", escaping.Error);
        Assert.True(Directory.Exists(Path.Combine(triton, "other")));
        Assert.DoesNotContain("verified", escaping.Output);
    }

    [Fact]
    public void Import_prints_a_spec_that_compiles_to_the_variant()
    {
        var (exit, output, _) = CliTests.Run("import", TestPaths.Fixture("micro-linear", "variant.yml"), "--name", "Imported");
        Assert.Equal(0, exit);
        var compilation = Dsl.SpecCompiler.Compile(output);
        Assert.Empty(compilation.Diagnostics);
        var spec = Assert.Single(compilation.Models).Spec;
        Assert.Equal(("Imported", 64, 2, 8, 5), (spec.Name, spec.Backbone.Width, spec.Backbone.Layers, spec.PatchSize, spec.NumClasses));
    }

    [Fact]
    public void Import_prints_the_spec_a_project_checkpoint_holds_and_refuses_other_weights()
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture("micro-mask", "variant.yml"))!;
        var converted = Path.Combine(temporary.FullName, "micro-mask.safetensors");
        Assert.Equal(0, CliTests.Run("convert", Path.Combine(directory, "checkpoint.pth"), "--model", directory, "--out", converted).Exit);

        var (exit, output, error) = CliTests.Run("import", converted, "--name", "Adopted");
        Assert.True(exit == 0, error);
        var compilation = Dsl.SpecCompiler.Compile(output);
        Assert.Empty(compilation.Diagnostics);
        var adopted = Assert.Single(compilation.Models).Spec;
        var original = Segmenter.Runtime.SpecJson.Read(System.Text.Json.Nodes.JsonNode.Parse(SafeTensors.ReadMetadata(converted)[ProjectCheckpoint.SpecJsonKey])!.AsObject(), converted);
        Assert.Equal(original with { Name = "Adopted" }, adopted);
        // The printed spec takes the checkpoint's weights as they are.
        var spec = Path.Combine(temporary.FullName, "adopted", "adopted.seg");
        Directory.CreateDirectory(Path.GetDirectoryName(spec)!);
        File.WriteAllText(spec, output);
        var loaded = CliTests.Run("show", spec);
        Assert.True(loaded.Exit == 0, loaded.Error);

        var pth = CliTests.Run("import", Path.Combine(directory, "checkpoint.pth"));
        Assert.Equal(1, pth.Exit);
        Assert.Contains("a binary file, not a variant.yml", pth.Error);
        var plain = Path.Combine(temporary.FullName, "plain.safetensors");
        using (var weight = TorchSharp.torch.zeros(2))
            SafeTensors.Write(plain, new[] { new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>("w", weight) });
        var foreign = CliTests.Run("import", plain);
        Assert.Equal(1, foreign.Exit);
        Assert.Contains("without this project's spec", foreign.Error);
        Assert.Equal(1, CliTests.Run("import", converted, "--name", "9lives").Exit);
    }

    [Fact]
    public void Attention_writes_the_reference_maps_for_a_tensor_and_heat_maps_for_an_image()
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture("micro-linear", "variant.yml"))!;
        var output = Path.Combine(temporary.FullName, "attention");
        var (exit, _, error) = CliTests.Run("attention", directory, "--tensor", Path.Combine(directory, "io.safetensors") + ":attention_input", "--layer", "1", "--out", output);
        Assert.True(exit == 0, error);
        using var maps = SafeTensors.Read(Path.Combine(output, "attention.safetensors"))["attention"];
        using var expected = SafeTensors.Read(Path.Combine(directory, "io.safetensors"))["attention_encoder_layer1"];
        TensorAssert.AtMost(maps - expected, 1e-5);

        var image = Path.Combine(temporary.FullName, "scene.png");
        var picture = new Segmenter.Inference.Imaging.RgbImage(56, 40);
        for (int y = 0; y < 40; y++) for (int x = 0; x < 56; x++) picture.Set(x, y, (byte)(x * 4), (byte)(y * 6), 128);
        Segmenter.Inference.Imaging.ImageFiles.WritePng(image, picture);
        var heat = CliTests.Run("attention", directory, "--image", image, "--layer", "0", "--out", output);
        Assert.True(heat.Exit == 0, heat.Error);
        var written = Segmenter.Inference.Imaging.ImageFiles.ReadRgb(Path.Combine(output, "encoder-layer0-head1.png"));
        Assert.True(written.Width > 56 && written.Height >= 40, $"{written.Width}×{written.Height}: the 56×40 heat map and its colour scale");
        Assert.True(File.Exists(Path.Combine(output, "encoder-layer0-mean.png")));
    }
}
