using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using Segmenter.Runtime.Checkpoints;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>make-dataset, train (with resume), eval and predict on images, run in-process as a user runs them.</summary>
public sealed class CliTrainingTests : System.IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-cli-training-");

    public void Dispose() => temporary.Delete(recursive: true);

    /// <summary>tiny.seg holding <paramref name="specText"/> and a synthetic dataset made with <paramref name="dataset"/>'s options, in the temporary folder.</summary>
    private (string Spec, string Data) SpecAndData(string specText, params string[] dataset)
    {
        var spec = Path.Combine(temporary.FullName, "tiny.seg");
        File.WriteAllText(spec, specText);
        var data = Path.Combine(temporary.FullName, "data");
        var made = CliTests.Run(new[] { "make-dataset", "--out", data }.Concat(dataset).ToArray());
        Assert.True(made.Exit == 0, made.Error);
        return (spec, data);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_run_killed_by_sigkill_resumes_to_the_uninterrupted_runs_losses_and_weights()
    {
        var root = temporary.FullName;
        var (spec, data) = SpecAndData("backbone B { layers = 1 width = 32 heads = 2 }\nmodel Tiny { backbone = B patch = 8 image = 32 classes = 3 decoder = linear }\n",
            "--train", "6", "--val", "2", "--classes", "3", "--min-size", "32", "--max-size", "48");
        string[] Train(string output) => new[] { "train", spec, "--data", data, "--dataset", "folder", "--iters", "300", "--batch", "2", "--lr", "0.02",
            "--seed", "4", "--checkpoint-every", "1", "--shards", "1", "--out", output, "--device", "cpu", "--val-split", "none" };
        var straight = Path.Combine(root, "straight");
        var uninterrupted = CliTests.Run(Train(straight));
        Assert.True(uninterrupted.Exit == 0, uninterrupted.Error);

        // The same run in a process of its own, killed with SIGKILL (no handler runs) after its fifth step, while it writes
        // a checkpoint every step; then resumed in this one.
        var killed = Path.Combine(root, "killed");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in Train(killed).Prepend(typeof(Program).Assembly.Location)) start.ArgumentList.Add(argument);
        using (var process = Process.Start(start)!)
        {
            var error = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && Steps(killed).Length < 5 && clock.Elapsed < TimeSpan.FromMinutes(5)) Thread.Sleep(2);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            var logged = Steps(killed).Length;
            Assert.True(logged is >= 5 and < 300, $"the run was to be killed between its fifth and last steps: {logged} logged; {await error}");
        }
        var checkpoint = Path.Combine(killed, "last.safetensors");
        int stoppedAt = int.Parse(SafeTensors.ReadMetadata(checkpoint)["training.iteration"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stoppedAt, 4, 299);
        // The recipe comes from the checkpoint; the shard count is the machine's choice, so it is given again (another one
        // changes the float rounding, not the result).
        var resumed = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", checkpoint, "--shards", "1", "--device", "cpu", "--val-split", "none");
        Assert.True(resumed.Exit == 0, resumed.Error);
        Assert.Contains($"resumed from {checkpoint} at step {stoppedAt}", resumed.Output);

        Assert.Equal(Steps(straight), Steps(killed));   // every step's loss, before the kill and after
        var (expected, actual) = (SafeTensors.Read(Path.Combine(straight, "last.safetensors")), SafeTensors.Read(checkpoint));
        Assert.Equal(expected.Tensors.Select(t => t.Key), actual.Tensors.Select(t => t.Key));
        foreach (var (name, tensor) in expected.Tensors)
            Assert.True(tensor.equal(actual[name]).all().item<bool>(), name);
    }

    /// <summary>The (step, loss) lines of a run's metrics.jsonl written so far (a line still being written is left out).</summary>
    private static (int Step, double Loss)[] Steps(string run)
    {
        var path = Path.Combine(run, "metrics.jsonl");
        if (!File.Exists(path)) return Array.Empty<(int, double)>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        var text = reader.ReadToEnd();
        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(line => (line.GetProperty("step").GetInt32(), line.GetProperty("loss").GetDouble())).ToArray();
    }

    [Fact]
    public void A_resume_continues_with_the_runs_recipe_in_its_folder()
    {
        var root = temporary.FullName;
        var (spec, data) = SpecAndData("backbone B { layers = 1 width = 32 heads = 2 }\nmodel Tiny { backbone = B patch = 8 image = 32 classes = 3 decoder = linear }\n",
            "--train", "6", "--val", "2", "--classes", "3", "--min-size", "32", "--max-size", "48");
        var run = Path.Combine(root, "run");
        var trained = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--iters", "2", "--batch", "2", "--lr", "0.02", "--seed", "4",
            "--out", run, "--device", "cpu", "--val-split", "none");
        Assert.True(trained.Exit == 0, trained.Error);

        // Neither --out nor the recipe given: the run goes on in its folder with its own options; --iters given is used.
        var checkpoint = Path.Combine(run, "last.safetensors");
        var resumed = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", checkpoint, "--iters", "3", "--device", "cpu", "--val-split", "none");
        Assert.True(resumed.Exit == 0, resumed.Error);
        Assert.Contains($"the run's recipe, from {checkpoint}: --crop 32, --batch 2, --lr 0.02, --seed 4", resumed.Output);
        Assert.Contains("changed from here on: --iters 3 (the run's: 2)", resumed.Output);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement;
        Assert.Equal((3, 2, 4, 0.02), (config.GetProperty("iters").GetInt32(), config.GetProperty("batch").GetInt32(), config.GetProperty("seed").GetInt32(), config.GetProperty("lr").GetDouble()));
        var steps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32());
        Assert.Equal(new[] { 1, 2, 3 }, steps);
        var metadata = Segmenter.Runtime.Checkpoints.SafeTensors.ReadMetadata(checkpoint);
        Assert.Equal(("3", "3", "0.02"), (metadata["training.iteration"], metadata["training.iterations"], metadata["training.lr"]));

        // --batch, --accumulate and --seed stay the run's; another run's folder is not replaced.
        var otherSeed = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", checkpoint, "--iters", "4", "--seed", "5", "--device", "cpu", "--val-split", "none");
        Assert.Equal(1, otherSeed.Exit);
        Assert.Contains($"{checkpoint} was trained with --seed 4, but this run asks for --seed 5; resume with --seed 4 (or leave it out), or start a new run", otherSeed.Error);
        var other = Path.Combine(root, "other");
        Assert.Equal(0, CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--iters", "1", "--batch", "2", "--out", other, "--device", "cpu", "--val-split", "none").Exit);
        var intoOther = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", checkpoint, "--iters", "4", "--out", other, "--device", "cpu", "--val-split", "none");
        Assert.Equal(1, intoOther.Exit);
        Assert.Contains($"{other} already holds another training run (last.safetensors), which resuming {checkpoint} there would replace", intoOther.Error);
        Assert.Equal("1", Segmenter.Runtime.Checkpoints.SafeTensors.ReadMetadata(Path.Combine(other, "last.safetensors"))["training.iteration"]);

        // Damaged files: a recipe value that is no number, momentum that is not floating point, weights that are not finite.
        var damaged = Path.Combine(root, "damaged");
        Directory.CreateDirectory(damaged);
        var file = Segmenter.Runtime.Checkpoints.SafeTensors.Read(checkpoint);
        string Edited(string name, System.Func<string, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> tensor, string? key = null, string? value = null)
        {
            var metadata = file.Metadata.ToDictionary(p => p.Key, p => p.Value);
            if (key is not null) metadata[key] = value!;
            var path = Path.Combine(damaged, name);
            Segmenter.Runtime.Checkpoints.SafeTensors.Write(path, file.Tensors.Select(t => new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>(t.Key, tensor(t.Key, t.Value))), metadata);
            return path;
        }
        var badRecipe = Edited("recipe.safetensors", (_, t) => t, "training.lr", "fast");
        var unreadable = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", badRecipe, "--iters", "4", "--device", "cpu", "--val-split", "none");
        Assert.Equal(1, unreadable.Exit);
        Assert.Contains($"{badRecipe}: the recipe's 'training.lr' is 'fast', not a finite number", unreadable.Error);
        var intMomentum = Edited("momentum.safetensors", (k, t) => k.StartsWith("optimizer.", System.StringComparison.Ordinal) ? t.to(TorchSharp.torch.ScalarType.Int32) : t);
        var wrongType = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", intMomentum, "--iters", "4", "--device", "cpu", "--val-split", "none");
        Assert.Equal(1, wrongType.Exit);
        Assert.Contains("is Int32; momentum is floating point, so the file is damaged", wrongType.Error);
        var nanWeights = Edited("nan.safetensors", (k, t) => k == "encoder.norm.bias" ? TorchSharp.torch.full_like(t, Segmenter.Runtime.Scalars.Of(double.NaN)) : t);
        var converted = CliTests.Run("convert", nanWeights, "--model", spec, "--out", Path.Combine(damaged, "converted.safetensors"));
        Assert.True(converted.Exit == 0, converted.Error);
        Assert.Contains($"warning: {nanWeights}: 1 of the ", converted.Error);
        Assert.Contains("hold NaN or infinite values (encoder.norm.bias (32 of 32))", converted.Error);
        // A key name with terminal escapes is refused as unexpected and listed escaped: the file's text never drives the terminal.
        var hostile = Path.Combine(damaged, "hostile.safetensors");
        Segmenter.Runtime.Checkpoints.SafeTensors.Write(hostile,
            file.Tensors.Append(new System.Collections.Generic.KeyValuePair<string, TorchSharp.torch.Tensor>("extra\u001b[2Jkey", TorchSharp.torch.zeros(1))), file.Metadata);
        var listed = CliTests.Run("convert", hostile, "--model", spec, "--out", Path.Combine(damaged, "hostile-converted.safetensors"));
        Assert.Equal(1, listed.Exit);
        Assert.Contains("1 unexpected", listed.Error);
        Assert.Contains("extra\\u001b[2Jkey", listed.Error);
        Assert.DoesNotContain('\u001b', listed.Error + listed.Output);
        var fromNan = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--init", nanWeights, "--iters", "1", "--out", Path.Combine(damaged, "run"), "--device", "cpu", "--val-split", "none");
        Assert.Equal(1, fromNan.Exit);
        Assert.Contains("training cannot start from them", fromNan.Error);
        var resumedNan = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--resume", nanWeights, "--iters", "4", "--out", Path.Combine(damaged, "resumed"), "--device", "cpu", "--val-split", "none");
        Assert.Equal(1, resumedNan.Exit);
        Assert.Contains($"{nanWeights}: 1 of the ", resumedNan.Error);
        Assert.Contains("tensors hold NaN or infinite values (encoder.norm.bias (32 of 32)); a run never saves them, so it cannot continue from this file", resumedNan.Error);
        // Finite in the file's float64, infinite once in the model's float32: counted as what the model would hold.
        var huge = Edited("huge.safetensors", (k, t) => k == "encoder.norm.bias" ? TorchSharp.torch.full(t.shape, Segmenter.Runtime.Scalars.Of(1e300), dtype: TorchSharp.torch.ScalarType.Float64) : t);
        var convertedHuge = CliTests.Run("convert", huge, "--model", spec, "--out", Path.Combine(damaged, "huge-converted.safetensors"));
        Assert.True(convertedHuge.Exit == 0, convertedHuge.Error);
        Assert.Contains("hold NaN or infinite values (encoder.norm.bias (32 of 32))", convertedHuge.Error);
        // Whole numbers where a weight belongs: a damaged file, not something to convert silently.
        var whole = Edited("whole.safetensors", (k, t) => k == "encoder.norm.bias" ? t.to(TorchSharp.torch.ScalarType.Int64) : t);
        var convertedWhole = CliTests.Run("convert", whole, "--model", spec, "--out", Path.Combine(damaged, "whole-converted.safetensors"));
        Assert.Equal(1, convertedWhole.Exit);
        Assert.Contains($"{whole}: tensor 'encoder.norm.bias' is Int64, but the model's is Float32: weights are floating point", convertedWhole.Error);
    }

    [Fact]
    public void A_spec_file_trains_resumes_evaluates_and_predicts_from_the_command_line()
    {
        var root = temporary.FullName;
        var (spec, data) = SpecAndData("backbone B { layers = 2 width = 64 heads = 2 }\nmodel Tiny { backbone = B patch = 8 image = 48 classes = cityscapes decoder = linear }\n",
            "--layout", "cityscapes", "--train", "8", "--val", "2", "--min-size", "48", "--max-size", "64");

        var run = Path.Combine(root, "run");
        var trained = CliTests.Run("train", spec, "--data", data, "--dataset", "cityscapes", "--iters", "2", "--batch", "2", "--out", run, "--device", "cpu", "--checkpoint-every", "1");
        Assert.True(trained.Exit == 0, trained.Error);
        Assert.Contains("step 2/2", trained.Output);
        Assert.Contains("mIoU", trained.Output);

        var resumed = CliTests.Run("train", spec, "--data", data, "--dataset", "cityscapes", "--iters", "3", "--batch", "2", "--out", run, "--device", "cpu", "--resume", "--val-split", "none");
        Assert.True(resumed.Exit == 0, resumed.Error);
        Assert.Contains("resumed from", resumed.Output);
        Assert.Contains("step 3/3", resumed.Output);

        var otherBatch = CliTests.Run("train", spec, "--data", data, "--dataset", "cityscapes", "--iters", "4", "--batch", "1", "--out", run, "--device", "cpu", "--resume", "--val-split", "none");
        Assert.Equal(1, otherBatch.Exit);
        Assert.Contains("was trained with --batch 2, but this run asks for --batch 1; resume with --batch 2 (or leave it out), or start a new run", otherBatch.Error);

        // The run explains itself: config.json, metrics.jsonl (steps 1–3, the resume appended), curves.png.
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement;
        Assert.Equal("Tiny", config.GetProperty("model_name").GetString());
        Assert.Equal(3, config.GetProperty("iters").GetInt32());
        Assert.Equal(2, config.GetProperty("resumed_at_step").GetInt32());
        Assert.Contains("model Tiny", config.GetProperty("spec_text").GetString());
        Assert.False(string.IsNullOrEmpty(config.GetProperty("versions").GetProperty("torchsharp").GetString()));
        Assert.Equal("2.10.0", config.GetProperty("versions").GetProperty("libtorch").GetString());
        Assert.True(config.GetProperty("machine").GetProperty("cores").GetInt32() >= 1);
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(new[] { 1, 2, 3 }, lines.Where(l => l.TryGetProperty("loss", out _)).Select(l => l.GetProperty("step").GetInt32()));
        var evaluation = Assert.Single(lines, l => l.TryGetProperty("mIoU", out _));
        Assert.Equal(2, evaluation.GetProperty("step").GetInt32());
        Assert.Equal(19, evaluation.GetProperty("IoU").EnumerateObject().Count());
        using (var curves = SkiaSharp.SKBitmap.Decode(Path.Combine(run, "curves.png")))
            Assert.Equal((1000, 900), (curves.Width, curves.Height));   // loss, learning rate and mIoU panels

        // Resumed with nothing left to do, the run says so rather than finishing in silence.
        var finished = CliTests.Run("train", spec, "--data", data, "--dataset", "cityscapes", "--iters", "3", "--batch", "2", "--out", run, "--device", "cpu", "--resume", "--val-split", "none");
        Assert.True(finished.Exit == 0, finished.Error);
        Assert.Contains("at step 3: --iters 3 is reached, so no step is taken; give a larger --iters to train on", finished.Output);

        var checkpoint = Path.Combine(run, "last.safetensors");
        var evaluated = CliTests.Run("eval", spec, "--checkpoint", checkpoint, "--data", data, "--dataset", "cityscapes", "--mode", "slide", "--json");
        Assert.True(evaluated.Exit == 0, evaluated.Error);
        var metrics = JsonDocument.Parse(evaluated.Output).RootElement;
        Assert.Equal(19, metrics.GetProperty("classes").GetArrayLength());
        Assert.Equal(2, metrics.GetProperty("images").GetInt32());
        Assert.InRange(metrics.GetProperty("aAcc").GetDouble(), 0, 100);

        var image = Directory.GetFiles(Path.Combine(data, "leftImg8bit", "val"), "*.png", SearchOption.AllDirectories).First();
        var predictions = Path.Combine(root, "predictions");
        var predicted = CliTests.Run("predict", spec, "--checkpoint", checkpoint, "--image", image, "--out", predictions, "--logits");
        Assert.True(predicted.Exit == 0, predicted.Error);
        var stem = Path.GetFileNameWithoutExtension(image);
        Assert.True(Segmenter.Inference.Imaging.IndexedPng.TryRead(Path.Combine(predictions, stem + ".png"), out var labels));
        var picture = Segmenter.Inference.Imaging.ImageFiles.ReadRgb(image);
        Assert.Equal((picture.Width, picture.Height), (labels!.Width, labels.Height));
        Assert.True(File.Exists(Path.Combine(predictions, stem + ".overlay.png")));
        Assert.True(File.Exists(Path.Combine(predictions, stem + ".logits.safetensors")));
    }

    [Fact]
    public void Make_dataset_classes_mean_the_datasets_classes_for_every_layout()
    {
        var refused = CliTests.Run("make-dataset", "--out", Path.Combine(temporary.FullName, "ade"), "--layout", "ade20k", "--classes", "4");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("--classes 4: the ade20k layout has 150 classes", refused.Error);
        Assert.Contains("--layout folder", refused.Error);
        Assert.False(Directory.Exists(Path.Combine(temporary.FullName, "ade")));
        var (exit, _, error) = CliTests.Run("make-dataset", "--out", Path.Combine(temporary.FullName, "ade"), "--layout", "ade20k", "--classes", "150", "--train", "1", "--val", "0", "--min-size", "32", "--max-size", "32");
        Assert.True(exit == 0, error);
    }

    [Fact]
    public void A_seed_fixes_the_whole_run_initialisation_included()
    {
        var root = temporary.FullName;
        var spec = Path.Combine(root, "seeded.seg");
        File.WriteAllText(spec, "backbone B { layers = 1 width = 32 heads = 2 }\nmodel Seeded { backbone = B patch = 8 image = 32 classes = 3 decoder = linear }\n");
        var data = Path.Combine(root, "data");
        Assert.Equal(0, CliTests.Run("make-dataset", "--out", data, "--train", "4", "--val", "0", "--classes", "3", "--min-size", "32", "--max-size", "40").Exit);

        System.Collections.Generic.Dictionary<string, TorchSharp.torch.Tensor> Train(string name, string seed)
        {
            var run = Path.Combine(root, name);
            var trained = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--iters", "2", "--batch", "2", "--out", run, "--seed", seed, "--val-split", "none");
            Assert.True(trained.Exit == 0, trained.Error);
            return Segmenter.Runtime.Checkpoints.SafeTensors.Read(Path.Combine(run, "last.safetensors")).Tensors
                .Where(t => t.Key.StartsWith("encoder.") || t.Key.StartsWith("decoder."))
                .ToDictionary(t => t.Key, t => t.Value);
        }

        static bool Same(System.Collections.Generic.Dictionary<string, TorchSharp.torch.Tensor> a, System.Collections.Generic.Dictionary<string, TorchSharp.torch.Tensor> b) =>
            a.Count > 0 && a.Keys.All(k => a[k].allclose(b[k], rtol: 0, atol: 0));

        var first = Train("a", "7");
        var again = Train("b", "7");
        var other = Train("c", "8");
        Assert.True(Same(first, again));
        Assert.False(Same(first, other));
        foreach (var tensor in first.Values.Concat(again.Values).Concat(other.Values)) tensor.Dispose();
    }

    [Fact]
    public void Training_a_model_whose_classes_differ_from_the_dataset_is_a_clear_error()
    {
        var data = Path.Combine(temporary.FullName, "data");
        CliTests.Run("make-dataset", "--out", data, "--train", "2", "--val", "1", "--classes", "3");
        var (exit, _, error) = CliTests.Run("train", "SegT16", "--data", data, "--dataset", "folder", "--iters", "1", "--out", Path.Combine(temporary.FullName, "run"));
        Assert.Equal(1, exit);
        Assert.Contains("the dataset has 3 classes but SegT16 predicts 150", error);
    }
}
