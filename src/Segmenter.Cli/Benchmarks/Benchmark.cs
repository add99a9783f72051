using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Segmenter.Spec;
using Segmenter.Export;
using Segmenter.Tooling;
using Segmenter.Runtime;
using Segmenter.Training;
using static TorchSharp.torch;

namespace Segmenter.Cli.Benchmarks;

/// <summary>Runs one benchmark: a model on a backend, warm-up excluded, random inputs.</summary>
internal static class Benchmark
{
    public static BenchResult Run(string reference, string backend, BenchSettings settings, double peak)
    {
        var entry = ModelResolver.Resolve(reference);   // compiled before the baseline: the compiler's memory is not the model's
        var spec = entry.Spec;
        set_num_threads(settings.Threads);
        var request = new ModelRequest { Model = reference, UseVariantCheckpoint = false, Device = "cpu", Seed = 0 };
        bool onnx = backend is "onnx" or "onnx-fused" or "onnx-int8" or "onnx-int8-fused";
        if (onnx && settings.Train) throw new ArgumentException("--train measures TorchSharp training steps; use --backend torch");
        // An ONNX backend runs a file, as a deployment does: exported (and the TorchSharp model freed) before the baseline,
        // so that its memory is ONNX Runtime's alone.
        using var onnxFile = onnx ? ExportToFile(entry, request, ExportOptions(backend, settings.Attention, forGpu: (settings.Onnx?.Provider ?? "cpu") != "cpu"), settings.ExternalData) : null;
        // Memory is counted from here: the weights, the session and the runs' working memory.
        MemoryProbe.ResetPeak();
        long baseline = MemoryProbe.CurrentRss();
        using var loaded = onnx ? null : ModelLoader.Load(entry, request);
        long parameterBytes = onnxFile?.ParameterBytes ?? loaded!.Model.parameters().Sum(p => p.numel() * p.element_size());
        using var images = randn(settings.Batch, 3, settings.Height, settings.Width);

        Func<double> runOnce;
        var owned = new List<IDisposable>();   // what the measured loop uses, freed after it
        StageTimer? stages = null;
        TrainingProfile? training = null;
        CoreBalance? balance = null;
        int? shards = null;
        switch (backend)
        {
            case "torch" when settings.Train:
                var model = loaded!.Model;
                model.SetPrecision(settings.Precision);
                shards = ShardedStep.Count(settings.Shards, CPU, settings.Batch);
                if (settings.Profile) training = new TrainingProfile();
                balance = new CoreBalance();
                runOnce = TrainingStep(model, images, spec, shards.Value, owned, training, balance);
                break;
            case "torch":
                var inference = loaded!.Model;
                inference.eval();
                inference.SetPrecision(settings.Precision);
                if (settings.Profile) stages = new StageTimer(inference);
                runOnce = () => Time(() =>
                {
                    using var noGrad = no_grad();
                    inference.call(images).Dispose();
                });
                break;
            case "onnx" or "onnx-fused" or "onnx-int8" or "onnx-int8-fused":
                var session = new OnnxSession(onnxFile!.Path, (settings.Onnx ?? new OnnxSessionOptions()) with { Threads = settings.Threads });
                var logits = empty(settings.Batch, spec.NumClasses, settings.Height, settings.Width);   // reused, as a serving loop would
                owned.Add(session);
                owned.Add(logits);
                runOnce = () => Time(() => session.RunInto(images, logits)?.Dispose());
                break;
            default:
                throw new ArgumentException($"unknown backend '{backend}': use torch, onnx, onnx-fused, onnx-int8 or onnx-int8-fused");
        }

        try
        {
            for (int i = 0; i < settings.Warmup; i++) runOnce();
            stages?.Reset();
            training?.Reset();
            balance?.Reset();
            var latencies = Enumerable.Range(0, settings.Iterations).Select(_ => runOnce()).OrderBy(t => t).ToArray();
            long peakRss = Math.Max(0, MemoryProbe.PeakRss() - baseline);

            double median = Percentile(latencies, 0.5), p90 = Percentile(latencies, 0.9);
            double flopsPerImage = SpecMetrics.Flops(spec, settings.Height, settings.Width).Total * (settings.Train ? 3 : 1);
            double imagesPerSecond = settings.Batch / (median / 1000);
            double gflopsPerSecond = flopsPerImage * imagesPerSecond / 1e9;
            return new BenchResult(spec.Name, backend == "torch" && settings.Precision == ComputePrecision.BFloat16 ? "torch-bf16" : backend, settings.Height, settings.Width, settings.Batch, settings.Threads, settings.Train, median, p90, imagesPerSecond,
                flopsPerImage / 1e9, gflopsPerSecond, gflopsPerSecond / peak, peak, peakRss, parameterBytes, stages?.PerRun(settings.Iterations) ?? training?.PerRun(settings.Iterations))
            {
                ShardTimes = training?.ShardsPerRun(settings.Iterations),
                ShardCpuSpread = balance?.Median(),
                TokenMixingShare = TokenMixingFlops(spec, settings.Height, settings.Width) / SpecMetrics.Flops(spec, settings.Height, settings.Width).Total,
                Shards = shards,
                Attention = onnxFile?.Attention,
                MemoryNeedBytes = settings.Train ? null : parameterBytes + sizeof(float) * settings.Batch * (BlockActivationValues(spec, settings.Height, settings.Width) + (long)spec.NumClasses * settings.Height * settings.Width),
            };
        }
        finally
        {
            stages?.Dispose();
            foreach (var disposable in owned) disposable.Dispose();
        }
    }

    /// <summary>An export written to a temporary file (deleted on disposal), the model's parameter bytes, and how the file writes attention.</summary>
    private sealed class ExportedFile(string path, long parameterBytes, string attention) : IDisposable
    {
        public string Path { get; } = path;
        public long ParameterBytes { get; } = parameterBytes;
        public string Attention { get; } = attention;

        public void Dispose() => Delete(Path);

        /// <summary>Deletes the file at <paramref name="path"/> and its data files, if any.</summary>
        public static void Delete(string path)
        {
            System.IO.File.Delete(path);
            OnnxExternalData.DeleteStale(path, keep: null);
        }
    }

    /// <summary>
    /// The export options of an ONNX <paramref name="backend"/> (onnx, onnx-fused, onnx-int8, onnx-int8-fused), its attention written as
    /// <paramref name="attention"/> says, or as export writes it for where the file runs (<paramref name="forGpu"/>: a CUDA or TensorRT provider).
    /// </summary>
    public static OnnxExportOptions ExportOptions(string backend, OnnxAttention? attention, bool forGpu) => new()
    {
        Flavour = backend.EndsWith("-fused", StringComparison.Ordinal) ? OnnxFlavour.Fused : OnnxFlavour.Portable,
        Int8 = backend.StartsWith("onnx-int8", StringComparison.Ordinal),
        Attention = attention,
        ForGpu = forGpu,
    };

    /// <summary>
    /// Exports the model with <paramref name="options"/> to a temporary file (with <paramref name="externalData"/>, its weights
    /// in a data file beside it); the TorchSharp model is freed before it returns.
    /// </summary>
    private static ExportedFile ExportToFile(ModelEntry entry, ModelRequest request, OnnxExportOptions options, bool externalData)
    {
        options.Validate();
        Onnx.ModelProto proto;
        long parameterBytes;
        using (var loaded = ModelLoader.Load(entry, request))
        {
            var model = loaded.Model;
            model.eval();
            parameterBytes = model.parameters().Sum(p => p.numel() * p.element_size());
            proto = OnnxExporter.Export(model, options);
        }
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"segmenter-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Save(proto, path, externalData);
        }
        catch
        {
            ExportedFile.Delete(path);
            throw;
        }
        return new ExportedFile(path, parameterBytes, options.Flavour == OnnxFlavour.Fused ? "fused" : options.AttentionLayout == OnnxAttention.PerHead ? "per-head" : "batched");
    }

    /// <summary>
    /// One SGD step as the trainer takes it: forward, cross-entropy against random labels, backward (the batch split into <paramref name="shards"/>),
    /// update; with a <paramref name="profile"/>, where its time went; into <paramref name="balance"/>, how evenly the shards' cores ran.
    /// </summary>
    private static Func<double> TrainingStep(SegmenterModel model, Tensor images, SegmenterSpec spec, int shards, List<IDisposable> owned, TrainingProfile? profile, CoreBalance balance)
    {
        model.train();
        var optimizer = new NesterovSgd(model.named_parameters(), 1e-3);
        var step = new ShardedStep(model, shards);
        var labels = randint(0, spec.NumClasses, new long[] { images.shape[0], images.shape[2], images.shape[3] });
        var seeds = Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)i).ToArray();
        owned.Add(optimizer);
        owned.Add(step);
        owned.Add(labels);
        return () =>
        {
            // Timed here rather than by Time: the profile's stages then add up to exactly the step that is reported.
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            var zeroed = clock.Elapsed;
            step.Accumulate(images, labels, 1, seeds);
            var accumulated = clock.Elapsed;
            optimizer.Step();
            var updated = clock.Elapsed;
            profile?.Add(zeroed.TotalMilliseconds, (accumulated - zeroed).TotalMilliseconds, (updated - accumulated).TotalMilliseconds, step.LastTimes);
            balance.Add(step.LastTimes);
            return updated.TotalMilliseconds;
        };
    }

    /// <summary>
    /// The values one transformer block of one image holds at once at the least: x, its norm, qkv, the attention's output
    /// and its projection, the MLP's hidden layer and its GELU — tokens × (7 × width + 2 × the MLP's width) — for the
    /// encoder's blocks or the mask decoder's (patches and class tokens), whichever hold more. The attention's [T, T]
    /// weights are not counted: a fused or chunked attention never holds them whole.
    /// </summary>
    private static long BlockActivationValues(SegmenterSpec spec, int height, int width)
    {
        long patches = (long)Math.Ceiling(height / (double)spec.PatchSize) * (long)Math.Ceiling(width / (double)spec.PatchSize);
        long encoder = (patches + spec.ExtraTokens) * (7L * spec.Backbone.Width + 2L * spec.Backbone.MlpWidth);
        long decoder = spec.Decoder.Kind == DecoderKind.Linear ? 0 : (patches + spec.NumClasses) * (7L * spec.Decoder.Width + 2L * spec.Decoder.MlpWidth);
        return Math.Max(encoder, decoder);
    }

    /// <summary>The FLOPs of q·kᵀ and attention·v in the encoder and the mask decoder: the part that grows with tokens².</summary>
    private static double TokenMixingFlops(SegmenterSpec spec, int height, int width)
    {
        double patches = Math.Ceiling(height / (double)spec.PatchSize) * Math.Ceiling(width / (double)spec.PatchSize);
        double tokens = patches + spec.ExtraTokens;
        double encoder = spec.Backbone.Layers * 4 * tokens * tokens * spec.Backbone.Width;
        double decoderTokens = patches + spec.NumClasses;
        double decoder = spec.Decoder.Kind == DecoderKind.Linear ? 0 : spec.Decoder.Layers * 4 * decoderTokens * decoderTokens * spec.Decoder.Width;
        return encoder + decoder;
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>The value at <paramref name="fraction"/> of <paramref name="sorted"/> (ascending), between its neighbours where it falls between two.</summary>
    internal static double Percentile(double[] sorted, double fraction)
    {
        double position = fraction * (sorted.Length - 1);
        int lower = (int)Math.Floor(position), upper = (int)Math.Ceiling(position);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }
}
