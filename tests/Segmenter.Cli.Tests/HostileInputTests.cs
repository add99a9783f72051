using System;
using System.IO;
using System.Linq;
using Segmenter.Runtime.Checkpoints;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>
/// Careless and hostile use: nothing existing is overwritten without being asked, nothing non-finite is written as a
/// result, and every bad option or input is a one-line error (exit 1) that says what was wrong.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private const string Spec = "backbone Wee { layers = 1 width = 32 heads = 2 }\nmodel WeeModel { backbone = Wee patch = 8 image = 32 classes = 3 drop_path = 0.0 }\n";

    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-hostile-");
    private readonly string spec;
    private readonly string data;

    public HostileInputTests()
    {
        spec = Path.Combine(folder.FullName, "wee.seg");
        File.WriteAllText(spec, Spec);
        data = Path.Combine(folder.FullName, "data");
        var (exit, _, error) = CliTests.Run("make-dataset", "--out", data, "--classes", "3", "--train", "6", "--val", "2", "--min-size", "32", "--max-size", "40");
        Assert.True(exit == 0, error);
    }

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void Predict_never_writes_over_an_input_or_one_images_output_over_anothers()
    {
        var images = Directory.CreateDirectory(Path.Combine(folder.FullName, "photos")).FullName;
        var source = Directory.GetFiles(Path.Combine(data, "images"), "*.*", SearchOption.AllDirectories).First();
        var photo = Path.Combine(images, "a.png");
        Segmenter.Inference.Imaging.ImageFiles.WritePng(photo, Segmenter.Inference.Imaging.ImageFiles.ReadRgb(source));
        var before = File.ReadAllBytes(photo);
        var beside = CliTests.Run("predict", spec, "--image", photo, "--out", images);   // a.png's label map would be photos/a.png
        Assert.Equal(1, beside.Exit);
        Assert.Contains("is one of the input images", beside.Error);
        Assert.Equal(before, File.ReadAllBytes(photo));

        var overlayNamed = Path.Combine(images, "a.overlay.png");
        File.Copy(photo, overlayNamed);
        var clash = CliTests.Run("predict", spec, "--image", photo, overlayNamed, "--out", Path.Combine(folder.FullName, "labels"));
        Assert.Equal(1, clash.Exit);
        Assert.Contains("would be written for both", clash.Error);
    }

    [Fact]
    public void A_training_checkpoint_with_a_negative_step_is_refused_as_damaged()
    {
        var run = Path.Combine(folder.FullName, "negative");
        Assert.Equal(0, Train(run, "--val-split", "none").Exit);
        var last = Path.Combine(run, "last.safetensors");
        var file = SafeTensors.Read(last);
        var metadata = file.Metadata.ToDictionary(p => p.Key, p => p.Value);
        metadata["training.iteration"] = "-5";
        SafeTensors.Write(last, file.Tensors, metadata);
        var (exit, _, error) = Train(run, "--resume", "--val-split", "none");
        Assert.Equal(1, exit);
        Assert.Contains("says step -5", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void A_pipe_a_device_or_a_huge_file_named_like_a_spec_is_refused_and_never_read()
    {
        if (!OperatingSystem.IsLinux()) return;   // FIFOs and /dev/zero as Linux has them
        var specs = Directory.CreateDirectory(Path.Combine(folder.FullName, "specs")).FullName;
        var good = Path.Combine(specs, "good.seg");
        File.WriteAllText(good, Spec);
        File.CreateSymbolicLink(Path.Combine(specs, "zero.seg"), "/dev/zero");   // endless: read whole, it fills the memory
        using (var fifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(specs, "pipe.seg")))
        {
            fifo.WaitForExit();
            Assert.Equal(0, fifo.ExitCode);   // opened for reading, it would wait forever for a writer
        }
        var huge = Path.Combine(folder.FullName, "huge.seg");
        using (var stream = File.Create(huge)) stream.SetLength(Tooling.SpecFiles.MaximumBytes + 1);

        // The good file beside them still works: its siblings are skipped, not read.
        var (exit, output, error) = CliTests.Run("show", good);
        Assert.True(exit == 0, error);
        Assert.Contains("WeeModel", output);
        foreach (var (file, expected) in new[] { ("zero.seg", "not a regular file"), ("pipe.seg", "not a regular file") })
        {
            var refused = CliTests.Run("check", Path.Combine(specs, file));
            Assert.Equal(1, refused.Exit);
            Assert.Contains(expected, refused.Error);
        }
        var tooLarge = CliTests.Run("check", huge);
        Assert.Equal(1, tooLarge.Exit);
        Assert.Contains("more than a spec file may hold", tooLarge.Error);
    }

    /// <summary>A tiny training run; <paramref name="extra"/> options replace the defaults of the same name.</summary>
    private (int Exit, string Output, string Error) Train(string output, params string[] extra)
    {
        var defaults = new[] { ("--iters", "2"), ("--batch", "2"), ("--crop", "32"), ("--device", "cpu"), ("--workers", "0") };
        var arguments = new[] { "train", spec, "--data", data, "--dataset", "folder", "--out", output }
            .Concat(defaults.Where(d => !extra.Contains(d.Item1)).SelectMany(d => new[] { d.Item1, d.Item2 }))
            .Concat(extra);
        return CliTests.Run(arguments.ToArray());
    }

    [Fact]
    public void An_existing_run_is_never_replaced_unless_asked()
    {
        var run = Path.Combine(folder.FullName, "run");
        var (first, _, firstError) = Train(run);
        Assert.True(first == 0, firstError);
        var before = File.ReadAllBytes(Path.Combine(run, "last.safetensors"));

        var (again, _, error) = Train(run);
        Assert.Equal(1, again);
        Assert.Contains("already holds a training run", error);
        Assert.Contains("--resume", error);
        Assert.Contains("--overwrite", error);
        Assert.DoesNotContain("   at ", error);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, "last.safetensors")));

        // The PyTorch engine's path refuses it too, before its job folder is written.
        var (torchrun, _, torchrunError) = Train(run, "--engine", "torchrun", "--dry-run");
        Assert.Equal(1, torchrun);
        Assert.Contains("already holds a training run", torchrunError);
        Assert.False(Directory.Exists(Path.Combine(run, "job")), "no job folder is written over an existing run");

        var (overwritten, _, overwriteError) = Train(run, "--overwrite");
        Assert.True(overwritten == 0, overwriteError);
    }

    [Fact]
    public void A_diverging_run_stops_with_an_error_and_writes_no_non_finite_weights()
    {
        var run = Path.Combine(folder.FullName, "diverging");
        var (exit, _, error) = Train(run, "--lr", "1e30", "--iters", "6", "--checkpoint-every", "1", "--val-split", "none");
        Assert.Equal(1, exit);
        Assert.Contains("finite", error);
        Assert.Contains("Lower --lr", error);
        var last = Path.Combine(run, "last.safetensors");
        if (File.Exists(last))
        {
            var file = SafeTensors.Read(last);
            foreach (var (name, tensor) in file.Tensors)
            {
                Assert.True(tensor.isfinite().all().item<bool>(), $"{name} in {last} is not finite");
                tensor.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("--batch", "0", "--batch 0")]
    [InlineData("--lr", "-1", "--lr -1")]
    [InlineData("--weight-decay", "-1", "--weight-decay -1")]
    [InlineData("--workers", "-1", "--workers -1")]
    [InlineData("--crop", "100000", "--crop 100000")]
    [InlineData("--batch", "100000000", "--batch 100000000 of 32×32 crops")]
    public void Out_of_range_training_options_are_refused_naming_the_option(string option, string value, string expected)
    {
        foreach (var engine in new[] { "torchsharp", "torchrun" })
        {
            var output = Path.Combine(folder.FullName, "never-" + engine);
            var extra = engine == "torchrun" ? new[] { option, value, "--engine", engine, "--dry-run" } : new[] { option, value };
            var (exit, _, error) = Train(output, extra);
            Assert.Equal(1, exit);
            Assert.Contains(expected, error);
            Assert.False(Directory.Exists(Path.Combine(output, "job")), "nothing is written for a refused run");
            Assert.False(File.Exists(Path.Combine(output, "last.safetensors")), "nothing is written for a refused run");
        }
    }

    [Fact]
    public void A_sliding_window_stride_larger_than_the_window_is_refused()
    {
        var (trained, _, trainError) = Train(Path.Combine(folder.FullName, "for-eval"));
        Assert.True(trained == 0, trainError);
        var (exit, _, error) = CliTests.Run("eval", spec, "--checkpoint", Path.Combine(folder.FullName, "for-eval", "last.safetensors"), "--data", data,
            "--dataset", "folder", "--mode", "slide", "--window", "16", "--stride", "24", "--device", "cpu");
        Assert.Equal(1, exit);
        Assert.Contains("stride 24 with a window of 16", error);
    }

    [Fact]
    public void Prediction_outputs_never_collide_or_overwrite_their_input()
    {
        var a = Directory.CreateDirectory(Path.Combine(folder.FullName, "a")).FullName;
        var b = Directory.CreateDirectory(Path.Combine(folder.FullName, "b")).FullName;
        var image = Directory.GetFiles(Path.Combine(data, "images", "val")).First();
        File.Copy(image, Path.Combine(a, "x.png"));
        File.Copy(image, Path.Combine(b, "x.png"));
        var output = Path.Combine(folder.FullName, "predictions");
        var (exit, _, error) = CliTests.Run("predict", spec, "--image", Path.Combine(a, "x.png"), Path.Combine(b, "x.png"), "--out", output, "--device", "cpu");
        Assert.Equal(1, exit);
        Assert.Contains("same name", error);
        Assert.False(Directory.Exists(output));

        var tensor = Path.Combine(folder.FullName, "input.safetensors");
        using (var input = TorchSharp.torch.randn(1, 3, 32, 32))
            SafeTensors.Write(tensor, new[] { new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>("input", input) });
        var before = File.ReadAllBytes(tensor);
        var (same, _, sameError) = CliTests.Run("predict", spec, "--tensor", tensor, "--logits", tensor, "--device", "cpu");
        Assert.Equal(1, same);
        Assert.Contains("is the --tensor input", sameError);
        Assert.Equal(before, File.ReadAllBytes(tensor));
    }

    [Fact]
    public void Bf16_training_records_its_precision_and_is_refused_for_torchrun()
    {
        var output = Path.Combine(folder.FullName, "bf16");
        var (exit, _, error) = Train(output, "--precision", "bf16");
        Assert.True(exit == 0, error);
        Assert.Contains("\"precision\": \"bf16\"", File.ReadAllText(Path.Combine(output, "config.json")));
        var weights = SafeTensors.Read(Path.Combine(output, "last.safetensors"));
        Assert.All(weights.Tensors.Where(t => t.Key.EndsWith(".weight")), t => Assert.Equal(TorchSharp.torch.ScalarType.Float32, t.Value.dtype));   // master weights stay float32
        foreach (var (_, tensor) in weights.Tensors) tensor.Dispose();
        var (refused, _, refusal) = Train(Path.Combine(folder.FullName, "bf16-torchrun"), "--precision", "bf16", "--engine", "torchrun", "--dry-run");
        Assert.Equal(1, refused);
        Assert.Contains("takes --amp bf16", refusal);
    }

    [Fact]
    public void Non_finite_inputs_are_reported_not_passed_silently()
    {
        var tensor = Path.Combine(folder.FullName, "nan.safetensors");
        using (var input = TorchSharp.torch.randn(1, 3, 32, 32))
        {
            input[0, 1, 5, 7] = TorchSharp.torch.tensor(float.NaN);
            input[0, 2, 9, 9] = TorchSharp.torch.tensor(float.PositiveInfinity);
            SafeTensors.Write(tensor, new[] { new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>("input", input) });
        }
        var logits = Path.Combine(folder.FullName, "nan-logits.safetensors");
        var (exit, _, error) = CliTests.Run("predict", spec, "--tensor", tensor, "--logits", logits, "--device", "cpu");
        Assert.True(exit == 0, error);
        Assert.Contains($"warning: {tensor}: the input holds 2 NaN or infinite values of 3072", error);
        Assert.Contains("warning: 3072 of the 3072 logits are NaN or infinite", error);
    }

    [Fact]
    public void An_unknown_normalisation_in_a_variant_yml_is_an_error_at_its_line()
    {
        var source = File.ReadAllText(Segmenter.Tests.TestPaths.Fixture("micro-linear", "variant.yml"));
        var variant = Path.Combine(Directory.CreateDirectory(Path.Combine(folder.FullName, "variant")).FullName, "variant.yml");
        Assert.Contains("normalization:", source);
        File.WriteAllText(variant, System.Text.RegularExpressions.Regex.Replace(source, "normalization: *\\S+", "normalization: imagenet21k"));
        var (exit, _, error) = CliTests.Run("import", variant);
        Assert.Equal(1, exit);
        Assert.Contains("imagenet21k", error);
        Assert.Contains("expected vit or deit", error);
        Assert.Matches(@"variant\.yml\(\d+,\d+\)", error);
    }

    [Fact]
    public void A_dataset_is_never_written_into_an_existing_one()
    {
        var (exit, _, error) = CliTests.Run("make-dataset", "--out", data, "--classes", "3", "--train", "2", "--val", "1");
        Assert.Equal(1, exit);
        Assert.Contains("is not empty", error);
        var (negative, _, negativeError) = CliTests.Run("make-dataset", "--out", Path.Combine(folder.FullName, "new"), "--train", "-1");
        Assert.Equal(1, negative);
        Assert.Contains("--train -1", negativeError);
    }

    /// <summary>Numbers out of range are refused as the command line is parsed, not quietly raised to the nearest valid value or used.</summary>
    [Theory]
    [InlineData("bench", "--iters", "0", "--iters 0: at least 1 timed run")]
    [InlineData("bench", "--warmup", "-1", "--warmup -1: 0 or more untimed runs")]
    [InlineData("bench", "--threads", "0", "--threads 0: at least 1 thread")]
    [InlineData("bench", "--batch", "-1", "--batch -1: a run needs at least 1 image")]
    [InlineData("bench", "--shards", "-2", "--shards -2: 0 (as the trainer chooses) or more shards")]
    [InlineData("serve", "--threads", "-3", "--threads -3: at least 1 thread")]
    [InlineData("predict", "--batch", "0", "--batch 0: at least 1 image per forward pass")]
    [InlineData("quickstart", "--iters", "0", "--iters 0: training needs at least 1 step")]
    [InlineData("export", "--min-agreement", "1.5", "--min-agreement 1.5: a share of the pixels, from 0 to 1 (0.99: 99 %)")]
    [InlineData("export", "--tolerance", "-1", "--tolerance -1: a difference of 0 or more")]
    [InlineData("export", "--tolerance", "NaN", "--tolerance NaN: a difference of 0 or more")]
    [InlineData("bench", "--duration", "-1", "--duration -1: a positive number of seconds")]
    [InlineData("bench", "--concurrency", "0", "--concurrency 0: at least 1 client")]
    [InlineData("bench", "--rate", "0", "--rate 0: a positive number of requests a second")]
    public void Numbers_out_of_range_are_refused_naming_the_option(string command, string option, string value, string expected)
    {
        var args = command == "quickstart" ? new[] { command, "--out", Path.Combine(folder.FullName, "never"), option, value } : new[] { command, spec, option, value };
        var (exit, output, error) = CliTests.Run(args);
        Assert.Equal(1, exit);
        Assert.StartsWith("error: " + expected, error);
        Assert.Equal("", output);
        Assert.False(Directory.Exists(Path.Combine(folder.FullName, "never")), "nothing is written for a refused command");
    }

    [Fact]
    public void Export_options_that_cannot_go_together_are_refused_before_the_model_is_built()
    {
        var onnx = Path.Combine(folder.FullName, "never.onnx");
        foreach (var args in new[] { new[] { "--fused", "--attention", "per-head" }, new[] { "--opset", "23", "--attention", "batched" }, new[] { "--int8", "--fp16" } })
        {
            var (exit, output, error) = CliTests.Run(new[] { "export", spec, "--out", onnx }.Concat(args).ToArray());
            Assert.Equal(1, exit);
            Assert.StartsWith("error: --", error);
            Assert.DoesNotContain("stages", error);   // refused before the export began
            Assert.Equal("", output);
        }
        var unknown = CliTests.Run("export", spec, "--out", onnx, "--attention", "heads");
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("'heads' not recognized", unknown.Error);
        Assert.Contains("per-head", unknown.Error);
        Assert.False(File.Exists(onnx));
    }

    [Fact]
    public void An_unreadable_image_among_several_costs_only_its_own_outputs()
    {
        var good = Directory.GetFiles(Path.Combine(data, "images", "val")).Order().ToArray();
        var broken = Path.Combine(folder.FullName, "broken.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(good[0])[..40]);
        var missing = Path.Combine(folder.FullName, "missing.jpg");
        var output = Path.Combine(folder.FullName, "predicted");
        var (exit, stdout, error) = CliTests.Run("predict", spec, "--image", good[0], broken, missing, good[1], "--out", output, "--mode", "whole");
        Assert.Equal(1, exit);
        Assert.Contains($"error: {broken}: ", error);
        Assert.Contains($"error: image file '{missing}' does not exist", error);
        Assert.Contains($"error: 2 of 4 images could not be read (above); the others' outputs are in {output}", error);
        foreach (var image in good)
        {
            Assert.Contains(image + ": ", stdout);
            Assert.True(File.Exists(Path.Combine(output, Path.GetFileNameWithoutExtension(image) + ".png")));
        }
        Assert.Equal(4, Directory.GetFiles(output).Length);   // a label and an overlay for each readable image
    }

    [Fact]
    public void Predicting_label_images_with_more_classes_than_a_png_holds_is_refused()
    {
        var many = Path.Combine(folder.FullName, "many", "many.seg");
        Directory.CreateDirectory(Path.GetDirectoryName(many)!);
        File.WriteAllText(many, Spec.Replace("WeeModel", "ManyClasses").Replace("classes = 3", "classes = 300"));
        var image = Directory.GetFiles(Path.Combine(data, "images", "val")).Order().First();
        var output = Path.Combine(folder.FullName, "many-out");
        var (exit, _, error) = CliTests.Run("predict", many, "--image", image, "--out", output);
        Assert.Equal(1, exit);
        Assert.Contains("error: ManyClasses has 300 classes, and a label PNG holds 256 at most (0–255)", error);
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData("torchsharp")]
    [InlineData("torchrun")]
    public void A_run_into_a_folder_another_run_is_using_is_refused_and_writes_nothing(string engine)
    {
        var output = Path.Combine(folder.FullName, "busy-" + engine);
        using (Segmenter.Training.RunLock.Acquire(output))
        {
            var (exit, _, error) = Train(output, engine == "torchrun" ? new[] { "--engine", engine, "--dry-run" } : Array.Empty<string>());
            Assert.Equal(1, exit);
            Assert.Contains($"error: {output} is in use by another training run", error);
            Assert.Equal(new[] { Segmenter.Training.RunLock.FileName }, Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        }
    }

    [Fact]
    public void Unknown_options_are_errors_in_the_house_format()
    {
        var (exit, _, error) = CliTests.Run("train", spec, "--bogus");
        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", error);
        Assert.Contains("--bogus", error);
        Assert.Contains("segmenter train --help", error);
    }

    [Fact]
    public void Check_escapes_control_characters_aligns_carets_after_tabs_and_caps_what_it_prints()
    {
        var tabbed = Path.Combine(folder.FullName, "tabbed.seg");
        File.WriteAllText(tabbed, "model\tBad\u0007 {\n\tpatch = \"x\"\n}\n");
        var (_, output, _) = CliTests.Run("check", tabbed, "--context");
        Assert.False(output.Contains('\u0007'), "a raw control character reached the output");   // (xunit's culture-aware DoesNotContain ignores control characters)
        Assert.Contains("\\u0007", output);
        var caret = output.Split('\n').First(l => l.Contains('^'));
        Assert.Contains("|\t", caret.Replace(" ", ""));   // the tab is repeated before the caret

        // Wide characters take two columns and escaped ones six: the caret still sits under the error.
        var wide = Path.Combine(folder.FullName, "wide.seg");
        File.WriteAllText(wide, "model M { classes = (\"猫\u0001\", \"犬\") patch = \"x\" }\n");
        var wideLines = CliTests.Run("check", wide, "--context").Output.Split('\n');
        int at = System.Array.FindIndex(wideLines, l => l.Contains("SEGDSL0103"));
        var (source, carets) = (wideLines[at + 1], wideLines[at + 2]);
        int column(string s, int index) => TerminalText.Columns(s.Substring(0, index));
        Assert.Equal(column(source, source.IndexOf("\"x\"", System.StringComparison.Ordinal)), carets.IndexOf('^'));
        Assert.Equal("^^^", carets.Trim().TrimStart('|').Trim());

        var many = Path.Combine(folder.FullName, "many.seg");
        File.WriteAllText(many, string.Concat(Enumerable.Range(0, 300).Select(i => $"model M{i} {{ patch = }}\n")));
        var (manyExit, manyOutput, _) = CliTests.Run("check", many);
        Assert.Equal(1, manyExit);
        Assert.Contains("more diagnostics (the first 200 are shown", manyOutput);
        Assert.True(manyOutput.Split('\n').Length < 260, "the printed diagnostics are capped");
    }

    [Fact]
    public void A_model_name_longer_than_csharp_allows_is_a_spec_error()
    {
        var path = Path.Combine(folder.FullName, "long.seg");
        File.WriteAllText(path, Spec.Replace("WeeModel", new string('M', 1024)));
        var (exit, output, _) = CliTests.Run("check", path);
        Assert.Equal(1, exit);
        Assert.Contains("C# names may have at most 512", output);
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_an_error_naming_its_file()
    {
        var tensor = Path.Combine(folder.FullName, "flat.safetensors");
        using (var input = TorchSharp.torch.randn(3, 32, 32))
            SafeTensors.Write(tensor, new[] { new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>("input", input) });
        var (exit, _, error) = CliTests.Run("predict", spec, "--tensor", tensor, "--logits", Path.Combine(folder.FullName, "out.safetensors"), "--device", "cpu");
        Assert.Equal(1, exit);
        Assert.Contains(tensor, error);
        Assert.Contains("[batch, 3, height, width]", error);
        Assert.DoesNotContain("(Parameter", error);
    }

    [Fact]
    public void Show_state_dict_refuses_a_spec_too_large_to_build_instead_of_allocating_it()
    {
        var huge = Path.Combine(folder.FullName, "huge.seg");
        File.WriteAllText(huge, "backbone Huge { layers = 1000 width = 65536 heads = 1 }\nmodel HugeModel { backbone = Huge patch = 16 image = 512 classes = 3 }\n");
        var (exit, _, error) = CliTests.Run("show", huge, "--state-dict");
        Assert.Equal(1, exit);
        Assert.Contains("--state-dict builds the model", error);
        var (shown, output, _) = CliTests.Run("show", huge, "--json");
        Assert.Equal(0, shown);
        Assert.Contains("\"HugeModel\"", output);
    }

    [Fact]
    public void A_deeply_nested_variant_yml_is_refused_before_the_yaml_parser_recurses()
    {
        var variant = Path.Combine(Directory.CreateDirectory(Path.Combine(folder.FullName, "deep")).FullName, "variant.yml");
        File.WriteAllText(variant, "net_kwargs: " + new string('[', 30000) + new string(']', 30000) + "\n");
        var (exit, _, error) = CliTests.Run("import", variant);
        Assert.Equal(1, exit);
        Assert.Contains("nested more than 64 deep", error);
    }
}
