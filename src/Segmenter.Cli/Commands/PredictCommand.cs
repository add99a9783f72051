using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Export;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Inference.Imaging;
using Segmenter.Inference;
using static TorchSharp.torch;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter predict &lt;model&gt; [--checkpoint F] (--tensor in.safetensors[:name] --logits out.safetensors | --image A.jpg [B.png …] --out DIR [--logits])</c>,
/// or the same with <c>--onnx model.onnx</c> instead of a model.
/// </summary>
internal static class PredictCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var tensorInput = new Option<string?>("--tensor") { Description = "Input: an already-normalised float32 [B, 3, H, W] tensor, file.safetensors[:name] (default name: input)." };
        var images = new Option<string[]>("--image") { Description = "Input: image files; writes per image a label PNG (palette), a colour overlay PNG and, with --logits, the logits.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out") { Description = "With --image: the output folder." };
        var logits = new Option<string?>("--logits") { Description = "With --tensor: the output safetensors file for the logits [B, K, H, W]. With --image: also write DIR/<image>.logits.safetensors (log-probabilities in multi-scale mode, which averages probabilities).", Arity = ArgumentArity.ZeroOrOne };
        var batch = new Option<int>("--batch") { Description = "With --tensor: images per forward pass.", DefaultValueFactory = _ => 8 }.AtLeast(1, "at least 1 image per forward pass");
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "With --image: an image with more pixels runs with its short side at the window (the authors' test resize) and is labelled at its own size " +
                          "(its logits, with --logits, are written at the size it ran at), so a photo of any size fits in memory.",
            DefaultValueFactory = _ => DefaultMaxPixels,
        };
        var onnx = new OnnxRuntimeOptions();
        var precision = new PrecisionOption();
        var inference = new InferenceChoice();
        var command = new Command("predict", "Run a model (or an exported ONNX file) on images or on a tensor.") { tensorInput, images, output, logits, batch, maxPixels };
        model.AddTo(command);
        onnx.AddTo(command);
        precision.AddTo(command);
        inference.AddTo(command);
        model.Model.Arity = ArgumentArity.ZeroOrOne;
        command.SetAction(result =>
        {
            var imageFiles = result.GetValue(images) ?? Array.Empty<string>();
            var tensorPath = result.GetValue(tensorInput);
            if ((tensorPath is null) == (imageFiles.Length == 0))
                throw new ArgumentException("give one input: --tensor file.safetensors[:name] (with --logits out.safetensors) or --image files (with --out DIR)");

            // Outputs are checked before any work: none may overwrite an input or another output.
            if (tensorPath is not null)
            {
                var target = result.GetValue(logits) ?? throw new ArgumentException("with --tensor, give --logits out.safetensors");
                if (SamePath(target, PathArgument.Split(tensorPath).Path))
                    throw new ArgumentException($"--logits {target} is the --tensor input: give another file, the input is not overwritten");
            }
            else
            {
                var collisions = imageFiles.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
                if (collisions.Count > 0)
                    throw new ArgumentException($"images with the same name would write the same outputs in --out: {string.Join("; ", collisions.Select(g => string.Join(", ", g)))}; " +
                                                "predict them in separate runs with different --out folders, or rename them");
                // Every file the run writes (x.png, x.overlay.png, x.logits.safetensors) must be neither an input nor another image's output:
                // --out beside the images would replace x.png by its label map, and a.png's overlay is a.overlay.png's label map.
                if (result.GetValue(output) is { } folder)
                {
                    var writes = imageFiles.SelectMany(f => OutputsOf(folder, f, result.GetResult(logits) is not null).Select(o => (Image: f, Output: o))).ToList();
                    var inputs = imageFiles.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
                    if (writes.FirstOrDefault(w => inputs.Contains(Path.GetFullPath(w.Output))) is { Output: not null } overwrite)
                        throw new ArgumentException($"{overwrite.Output}, an output for {overwrite.Image}, is one of the input images: give --out another folder; no input is overwritten");
                    var shared = writes.GroupBy(w => Path.GetFullPath(w.Output), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                    if (shared is not null)
                        throw new ArgumentException($"{shared.Key} would be written for both {string.Join(" and ", shared.Select(w => w.Image))}: predict them into different --out folders, or rename one");
                }
            }

            var (run, spec, owner) = onnx.Open(result, model, console, network => precision.Apply(result, console, network));
            using var _owner = owner;
            if (tensorPath is not null)
            {
                var path = result.GetValue(logits)!;
                PredictTensor(console, run, tensorPath, path, result.GetValue(batch));
            }
            else
            {
                var directory = result.GetValue(output) ?? throw new ArgumentException("with --image, give --out DIR");
                if (spec.NumClasses > LabelMap.MaximumClasses)
                    throw new ArgumentException($"{spec.Name} has {spec.NumClasses} classes, and a label PNG holds {LabelMap.MaximumClasses} at most (0–255): " +
                                                "take its logits with --tensor and --logits, or run its ONNX export");
                long pixels = result.GetValue(maxPixels);
                if (pixels < 1) throw new ArgumentException($"--max-pixels {pixels}: give a positive number of pixels");
                PredictImages(console, run, spec, imageFiles, directory, inference.Read(result, spec), result.GetResult(logits) is not null, pixels);
            }
            return 0;
        });
        return command;
    }

    /// <summary>The files predict writes for <paramref name="image"/> into <paramref name="folder"/>.</summary>
    private static IEnumerable<string> OutputsOf(string folder, string image, bool logits)
    {
        var stem = Path.Combine(folder, Path.GetFileNameWithoutExtension(image));
        yield return stem + ".png";
        yield return stem + ".overlay.png";
        if (logits) yield return stem + ".logits.safetensors";
    }

    private static bool SamePath(string a, string b) => string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);

    private static void PredictTensor(CliConsole console, Func<Tensor, Tensor> run, string tensorPath, string logitsPath, int size)
    {
        using var input = TensorArgument.Read(tensorPath);
        try
        {
            SegmenterModel.CheckImages(input);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{tensorPath}: {e.Message}", e);
        }
        if (NonFinite(input) is var bad and > 0)
            console.Warning($"{tensorPath}: the input holds {bad} NaN or infinite values of {input.numel()}; the logits they reach will not be finite either");
        var clock = Stopwatch.StartNew();
        var outputs = new List<Tensor>();
        try
        {
            for (long start = 0; start < input.shape[0]; start += size)
            {
                using var chunk = input.narrow(0, start, Math.Min(size, input.shape[0] - start)).to(float32);
                outputs.Add(run(chunk));
            }
            using var all = cat(outputs, 0);
            if (NonFinite(all) is var badLogits and > 0)
                console.Warning($"{badLogits} of the {all.numel()} logits are NaN or infinite (non-finite inputs, or weights that are not finite)");
            SafeTensors.Write(logitsPath, new[] { new KeyValuePair<string, Tensor>("logits", all) });
            console.Out.WriteLine($"logits [{string.Join(", ", all.shape)}] written to {logitsPath} ({clock.Elapsed.TotalSeconds:F2} s)");
        }
        finally
        {
            foreach (var output in outputs) output.Dispose();
        }
    }

    /// <summary>How many values of <paramref name="tensor"/> are NaN or infinite.</summary>
    private static long NonFinite(Tensor tensor)
    {
        using var finite = tensor.isfinite();
        using var count = finite.logical_not().sum();
        return count.item<long>();
    }

    /// <summary>The default --max-pixels: 2048² (as serve's).</summary>
    public const long DefaultMaxPixels = 4L * 1024 * 1024;

    private static void PredictImages(CliConsole console, Func<Tensor, Tensor> run, SegmenterSpec spec, IEnumerable<string> files, string directory,
        InferenceOptions options, bool writeLogits, long maxPixels)
    {
        Directory.CreateDirectory(directory);
        using var noGrad = no_grad();
        var list = files.ToList();
        using var progress = new ProgressLine(console.Err, "predicting", list.Count, "images");   // stderr: stdout keeps one line per image
        int done = 0;
        var unreadable = new List<string>();
        foreach (var file in list)
        {
            var clock = Stopwatch.StartNew();
            RgbImage image;
            try
            {
                image = ImageFiles.ReadRgb(file);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                // One bad file in a batch costs its own outputs only: said now, counted at the end (exit 1).
                progress.Clear();
                console.Error(e.Message);
                unreadable.Add(file);
                if (list.Count > 1) progress.Report(++done);
                continue;
            }
            using var scope = NewDisposeScope();
            // An image over --max-pixels runs smaller (its scores at that size would not fit in memory) and is labelled at its size.
            var (height, width) = SegmentationInference.RunSize(image.Height, image.Width, maxPixels, options.WindowSize);
            bool reduced = height != image.Height || width != image.Width;
            var input = ImageTensors.ToTensor(ImageFiles.Resized(image, width, height), spec.Normalization);
            // One run per image: the logits (whole, slide) or the averaged probabilities (multi-scale).
            bool multiScale = options.Mode == InferenceMode.MultiScale;
            var scores = multiScale ? SegmentationInference.Probabilities(run, input, options) : SegmentationInference.Logits(run, input, options);
            if (NonFinite(scores) > 0)
                console.Warning($"{file}: some scores are NaN or infinite (weights that are not finite?); the labels there are meaningless");
            var labels = ImageTensors.ToLabelMap(Resize.BilinearArgmax(scores, image.Height, image.Width));   // the argmax itself when not reduced
            var stem = Path.Combine(directory, Path.GetFileNameWithoutExtension(file));   // the names OutputsOf gives
            IndexedPng.Write(stem + ".png", labels, Palettes.Voc);
            var legend = labels.Labels.Distinct().OrderBy(v => v).Select(v => (spec.ClassName(v), Palettes.Voc[v])).ToList();
            ImageFiles.WritePng(stem + ".overlay.png", Annotations.WithLegend(Overlays.Blend(image, labels, Palettes.Voc), legend));
            if (writeLogits)
            {
                SafeTensors.Write(stem + ".logits.safetensors", new[] { new KeyValuePair<string, Tensor>(multiScale ? "log_probabilities" : "logits", multiScale ? scores.log() : scores) });
            }
            progress.Clear();
            var ran = reduced ? $"run at {width}×{height}: over --max-pixels {maxPixels:N0}; " : "";
            console.Out.WriteLine($"{file}: {image.Width}×{image.Height} → {stem}.png, {stem}.overlay.png ({ran}{clock.Elapsed.TotalSeconds:F2} s; classes: {string.Join(", ", legend.Select(l => l.Item1))})");
            if (list.Count > 1) progress.Report(++done);
        }
        if (unreadable.Count > 0)
            throw new CommandFailedException($"{unreadable.Count} of {list.Count} images could not be read (above); " +
                                             (unreadable.Count < list.Count ? $"the others' outputs are in {directory}" : "nothing was written"));
    }
}
