using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Cli.Benchmarks;
using Segmenter.Runtime;
using Spectre.Console;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter bench &lt;model…&gt; [--backend torch|onnx|onnx-fused|onnx-int8|onnx-int8-fused] [--provider cpu|cuda[:N]|tensorrt[:N] [--trt-fp16 --trt-cache D --trt-profile P]] [--size HxW …] [--batch N] [--threads N] [--warmup N] [--iters N] [--train [--shards N]] [--profile] [--attention batched|per-head] [--json]</c>.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var models = new Argument<string[]>("models") { Description = "Zoo models, spec files (file.seg[:Model]) or variant.yml files.", Arity = ArgumentArity.ZeroOrMore };
        var backends = new Option<string[]>("--backend") { Description = "torch, onnx, onnx-fused, onnx-int8 or onnx-int8-fused (repeatable; with an int8 backend, ONNX Runtime's int8 product is also measured beside its float32 one).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => new[] { "torch" } };
        var size = new Option<string[]>("--size")
        {
            Description = "Image sizes HxW (several: --size 256 512 768 1024, to see how time and memory grow with the tokens).",
            AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => new[] { "512x512" },
        };
        var batch = new Option<int?>("--batch")
        {
            Description = "Images per run [default: 1; with --train, one per thread, the smallest batch whose step keeps every core on an image of its own, as the trainer splits it].",
        }.AtLeast(1, "a run needs at least 1 image");
        var threads = new Option<int>("--threads") { Description = "CPU threads for both backends.", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1, "at least 1 thread");
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first.", DefaultValueFactory = _ => 2 }.AtLeast(0, "0 or more untimed runs");
        var iterations = new Option<int>("--iters") { Description = "Timed runs.", DefaultValueFactory = _ => 10 }.AtLeast(1, "at least 1 timed run");
        var train = new Option<bool>("--train") { Description = "Time one training step (forward, cross-entropy, backward, SGD) instead of inference (torch only)." };
        var shards = new Option<int>("--shards") { Description = "With --train: split the batch across this many threads, as train --shards does (0: as the trainer chooses, one per thread up to the batch; 1: the batch in one pass).", DefaultValueFactory = _ => 0 }.AtLeast(0, "0 (as the trainer chooses) or more shards");
        var profile = new Option<bool>("--profile") { Description = "Also time each stage: patch embedding, attention, MLP, decoder, the rest (torch only); with --train: forward, backward, adding gradients, the shards' waiting, the optimizer, and each shard's times." };
        var externalData = new Option<bool>("--external-data") { Description = "Write the ONNX backends' files with their weights in a data file beside them, as export --external-data does." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per (model, backend, size, batch)." };
        var attention = new AttentionOption("How the onnx and onnx-int8 backends' files write attention, as export --attention: batched or per-head (default: as export writes them for where they run: per-head on the CPU, batched with --provider cuda or tensorrt).");
        var serve = new ServeLoadOptions();
        var command = new Command("bench", "Measure latency, throughput, achieved GFLOP/s against the machine's matrix-product peak (libtorch's and ONNX Runtime's best), and memory; " +
                                           "or, with --serve URL, load a running server.")
        {
            models, backends, size, batch, threads, warmup, iterations, train, shards, profile, json, externalData, attention.Option,
        };
        serve.AddTo(command);
        var onnx = new OnnxRuntimeOptions();
        onnx.AddTo(command, withFile: false);
        var precision = new PrecisionOption();
        precision.AddTo(command);
        command.SetAction(result =>
        {
            var sizes = result.GetValue(size)!.Select(text => Format.ParseSize(text, "--size")).ToList();
            if (serve.Requested(result))
            {
                if (result.GetValue(models)!.Length > 0) throw new ArgumentException("give models to measure in process, or --serve URL to load a server, not both");
                if (attention.Read(result) is not null || result.GetValue(externalData))
                    throw new ArgumentException("--attention and --external-data choose how bench's own ONNX files are written; a server runs the file it was given");
                return serve.Run(result, console, sizes, result.GetValue(batch) ?? 1, result.GetValue(json));
            }
            if (result.GetValue(models)!.Length == 0) throw new ArgumentException("give one or more models (zoo names, .seg files or variant.yml), or --serve URL to load a running server");
            if (result.GetValue(externalData) && (result.GetValue(train) || !result.GetValue(backends)!.Any(b => b.Trim().StartsWith("onnx", StringComparison.OrdinalIgnoreCase))))
                throw new ArgumentException("--external-data chooses how the onnx and onnx-int8 backends' files are written: give one of them, without --train");
            if (attention.Read(result) is { } layout)
            {
                // Refused before anything runs, as the export refuses it.
                var onnxBackends = result.GetValue(backends)!.Select(b => b.Trim().ToLowerInvariant()).Where(b => b.StartsWith("onnx", StringComparison.Ordinal)).ToList();
                if (onnxBackends.Count == 0) throw new ArgumentException("--attention applies to the onnx and onnx-int8 backends");
                foreach (var onnxBackend in onnxBackends)
                {
                    try
                    {
                        Benchmark.ExportOptions(onnxBackend, layout, forGpu: false).Validate();
                    }
                    catch (ArgumentException e)
                    {
                        throw new ArgumentException($"--backend {onnxBackend}: {e.Message}", e);
                    }
                }
            }
            int threadCount = result.GetValue(threads);
            int images = result.GetValue(batch) ?? (result.GetValue(train) ? threadCount : 1);
            var settings = new BenchSettings(sizes[0].Height, sizes[0].Width, images, threadCount,
                result.GetValue(warmup), result.GetValue(iterations), result.GetValue(train), result.GetValue(profile),
                onnx.Session(result, console), precision.Read(result, console, onCpu: true), result.GetValue(shards), attention.Read(result), result.GetValue(externalData));
            // Other work on the cores slows every figure: say so rather than report it as the machine's speed.
            var loadBefore = MachineLoad.During(TimeSpan.FromSeconds(1));
            var start = MachineLoad.Take();
            var peak = MatmulPeak.Measure(settings.Threads);
            // With an int8 backend on the CPU: how much faster this CPU's int8 products are than its float32 ones.
            bool int8OnCpu = result.GetValue(backends)!.Any(b => b.Trim().ToLowerInvariant().StartsWith("onnx-int8", StringComparison.Ordinal)) && (settings.Onnx?.Provider ?? "cpu") == "cpu";
            var int8 = int8OnCpu ? MatmulPeak.MeasureInt8(settings.Threads) : null;
            var results = new List<BenchResult>();
            foreach (var reference in result.GetValue(models)!)
            {
                foreach (var (height, width) in sizes)
                {
                    foreach (var backend in result.GetValue(backends)!.Select(b => b.Trim().ToLowerInvariant()))
                    {
                        if (!result.GetValue(json)) console.Err.WriteLine($"benchmarking {reference} at {height}×{width} on {backend} …");
                        results.Add(Benchmark.Run(reference, backend, settings with { Height = height, Width = width }, peak.Gflops));
                    }
                }
            }
            // Measured again after the models: a peak taken in a slow moment would flatter every fraction.
            peak = MatmulPeak.Combine(peak, MatmulPeak.Measure(settings.Threads));
            if (int8 is not null) int8 = MatmulPeak.Int8Result.Combine(int8, MatmulPeak.MeasureInt8(settings.Threads));
            var loadDuring = MachineLoad.Between(start, MachineLoad.Take());
            var loadAfter = MachineLoad.During(TimeSpan.FromSeconds(1));
            var shares = new[] { loadBefore, loadDuring, loadAfter }.OfType<MachineLoad.Share>().ToArray();
            double? load = shares.Length == 0 ? null : shares.Max(s => s.Others);
            double? steal = loadDuring?.Steal;
            if (load > BusyThreshold)
                console.Warning($"other processes{(steal > BusyThreshold / 2 ? " and other virtual machines (the hypervisor's steal: " + F(100 * steal!.Value, 0) + " % during the runs)" : "")} " +
                                $"used {100 * load:F0} % of the CPU time around or during this benchmark: every figure is slowed by them and is not this machine's speed; measure again on an idle machine");

            // The peak is the best rate any kernel reached; a whole model that beats every single product measured raises it.
            double peakGflops = peak.Gflops;
            string setBy = peak.SetBy;
            // The peak is the CPU's float32 rate: int8 results and results on a GPU provider are not measured against it.
            bool Float32OnCpu(BenchResult r) => r.Backend == "torch" || (r.Backend != "torch-bf16" && (!r.Backend.StartsWith("onnx-int8", StringComparison.Ordinal) && (settings.Onnx?.Provider ?? "cpu") == "cpu"));
            var fastest = results.Where(Float32OnCpu).MaxBy(r => r.GflopsPerSecond);
            if (fastest is not null && fastest.GflopsPerSecond > peakGflops)
            {
                peakGflops = fastest.GflopsPerSecond;
                setBy = $"{fastest.Model} on {fastest.Backend} at {fastest.Height}×{fastest.Width} (faster than every single product measured)";
            }
            var isa = PlatformInfo.VectorFeatures;
            int? physicalCores = PlatformInfo.PhysicalCores;
            var byKernel = peak.All.GroupBy(m => m.Kernel).ToDictionary(g => g.Key, g => g.Max(m => m.Gflops));
            results = results.Select(r => r with
            {
                PeakFraction = Float32OnCpu(r) ? r.GflopsPerSecond / peakGflops : double.NaN, MatmulPeakGflops = peakGflops, PeakSetBy = setBy, PeakByKernel = byKernel, Isa = isa, Processor = PlatformInfo.Processor, OtherLoad = load, Steal = steal,
                LogicalProcessors = Environment.ProcessorCount, PhysicalCores = physicalCores,
                LibTorchBlas = LibTorchBlas(),
                LibTorchExp = LibTorchExp(),
                Int8Product = r.Backend.StartsWith("onnx-int8", StringComparison.Ordinal) ? int8 : null,
            }).ToList();
            foreach (var r in results.Where(r => r.ShardCpuSpread > CoreBalance.UnevenThreshold))
                console.Warning($"{r.Model} training: one shard's thread used {100 * r.ShardCpuSpread!.Value:F0} % more processor time than another for the same work " +
                                "(the median over the steps): its core ran slower (shared with other work, such as another virtual machine on its sibling, or clocked lower), " +
                                "and each step waited for it, so this step time and its peakFraction are below what the machine gives with even cores; measure again");
            if (result.GetValue(json))
            {
                console.Out.WriteLine(Json.Write(new JsonArray(results.Select(r => (JsonNode)r.ToJson()).ToArray())));
                return 0;
            }
            var table = new Table().AddColumns("model", "backend", "size", "batch", "threads", "median ms", "p90 ms", "img/s", "GFLOP/img", "attention N²", "GFLOP/s", "of peak", "peak RSS MB", "÷ need");
            foreach (var r in results)
            {
                table.AddRow(r.Model, r.Backend + (r.Train ? (r.Shards > 1 ? $" (train, {r.Shards} shards)" : " (train)") : "") + (r.Attention == "per-head" ? " (per head)" : ""), $"{r.Height}×{r.Width}", $"{r.Batch}", $"{r.Threads}", F(r.LatencyMedianMs, 1), F(r.LatencyP90Ms, 1),
                    F(r.ImagesPerSecond, 2), F(r.GflopsPerImage, 1), F(100 * r.TokenMixingShare, 0) + " %", F(r.GflopsPerSecond, 1), (double.IsNaN(r.PeakFraction) ? "n/a" : F(100 * r.PeakFraction, 0) + " %"), F(r.PeakRssBytes / 1e6, 0),
                    r.MemoryNeedBytes is { } need ? F(r.PeakRssBytes / (double)need, 2) + "×" : "n/a");
            }
            console.Ansi.Write(table);
            console.Out.WriteLine($"matrix-product peak: {peakGflops:F1} GFLOP/s on {settings.Threads} thread{(settings.Threads == 1 ? "" : "s")} (float32, the best of {peak.All.Count / 2} products measured before and after the models, 3 runs each), set by {setBy}; " +
                                  $"best per kernel: {string.Join(", ", byKernel.Select(k => $"{k.Key} {F(k.Value, 1)}"))}; CPU {PlatformInfo.Processor} ({string.Join(", ", isa)}; {Cores(physicalCores)}); libtorch's MKL: {LibTorchBlas()}; libtorch's 16-lane exp: {LibTorchExp()}");
            if (int8 is not null)
            {
                console.Out.WriteLine($"int8 products (ONNX Runtime, as the int8 export writes each linear layer): {F(int8.Gops, 1)} billion operations a second at {int8.Shape}, " +
                                      $"{F(int8.Speedup, 2)}× its float32 product at that shape ({F(int8.Float32Gflops, 1)} GFLOP/s)");
                if (int8.Speedup < LittleInt8Gain)
                    console.Out.WriteLine($"so int8 products gain little speed on this CPU{(PlatformInfo.HasVnni ? "" : " (it has no VNNI)")}: " +
                                          "int8 models gain here in memory (a quarter of the weights) more than in time");
            }
            console.Out.WriteLine("attention N²: the share of the FLOPs in the token-mixing products (q·kᵀ and attention·v), which grow with the square of the tokens");
            if (results.Any(r => r.MemoryNeedBytes is not null))
                console.Out.WriteLine("÷ need: the peak RSS over what a pass must hold at the least in float32: the weights, one transformer block's activations " +
                                      "(without the [T, T] attention weights) and the logits at the image's size");
            foreach (var r in results.Where(r => r.Stages is not null))
            {
                var stages = new Table().AddColumns("stage", "ms per run", "share").Title($"{r.Model} stages");
                double total = r.Stages!.Values.Sum();
                foreach (var (stage, ms) in r.Stages) stages.AddRow(stage, F(ms, 1), F(100 * ms / total, 0) + " %");
                console.Ansi.Write(stages);
                if (r.ShardTimes is not { Count: > 1 } shardTimes) continue;
                var perShard = new Table().AddColumns("shard", "images", "forward and loss ms", "backward ms", "of these on its core ms", "waiting for its turn ms", "adding gradients ms")
                    .Title($"{r.Model} shards, per step");
                for (int i = 0; i < shardTimes.Count; i++)
                {
                    var t = shardTimes[i];
                    perShard.AddRow($"{i}", $"{t.Images}", F(t.ForwardMs, 1), F(t.BackwardMs, 1), t.ComputeCpuMs is { } cpu ? F(cpu, 1) : "n/a", F(t.WaitMs, 1), F(t.AddMs, 1));
                }
                console.Ansi.Write(perShard);
                console.Out.WriteLine("on its core: the processor time the shard's thread used in its forward and backward passes; what they took beyond it, the thread was off its core (other work ran there)");
            }
            return 0;
        });
        return command;
    }

    private static string Cores(int? physical) =>
        physical is not { } cores ? $"{Environment.ProcessorCount} logical processors, physical cores unknown"
        : cores == Environment.ProcessorCount ? $"{cores} cores"
        : $"{Environment.ProcessorCount} logical processors on {cores} physical cores";

    /// <summary>Above this share of the CPU time used by other processes, bench warns that its figures are not the machine's.</summary>
    private const double BusyThreshold = 0.10;

    /// <summary>Below this, an int8 product is not much faster than a float32 one on this CPU, and the text output says so.</summary>
    private const double LittleInt8Gain = 1.25;

    private static string LibTorchBlas() => MklDispatch.State switch
    {
        MklDispatchState.ByFeatures => "kernels by the CPU's features",
        MklDispatchState.KeptByUser => $"kernels by vendor ({MklDispatch.EnvironmentVariable}=vendor)",
        MklDispatchState.NotFound => "kernels by vendor (its dispatch was not found)",
        _ => "its own choice",
    };

    private static string LibTorchExp() => TorchExp.State switch
    {
        TorchExpState.Replaced => "the project's",
        TorchExpState.KeptByUser => $"SLEEF's ({TorchExp.EnvironmentVariable}=sleef)",
        TorchExpState.NotFound => "SLEEF's (its linkage was not found)",
        _ => "not used (no AVX-512)",
    };

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);
}
