using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace Segmenter.Cli.Benchmarks;

/// <summary>One measurement.</summary>
internal sealed record BenchResult(string Model, string Backend, int Height, int Width, int Batch, int Threads, bool Train, double LatencyMedianMs, double LatencyP90Ms,
    double ImagesPerSecond, double GflopsPerImage, double GflopsPerSecond, double PeakFraction, double MatmulPeakGflops, long PeakRssBytes, long ParameterBytes,
    IReadOnlyDictionary<string, double>? Stages)
{
    /// <summary>The share of the FLOPs in the token-mixing products (q·kᵀ, attention·v), which grow with the square of the tokens.</summary>
    public double TokenMixingShare { get; init; }

    /// <summary>What set the matrix-product peak (a kernel and shape, or a model faster than all of them).</summary>
    public string PeakSetBy { get; init; } = "";

    /// <summary>The processor and its vector features.</summary>
    public string Processor { get; init; } = "";

    /// <summary>The vector features that decide which kernels run (avx2, avx512f, avx512_vnni, avx512_bf16, amx_*).</summary>
    public IReadOnlyList<string> Isa { get; init; } = Array.Empty<string>();

    /// <summary>The logical processors this process may run on.</summary>
    public int LogicalProcessors { get; init; }

    /// <summary>The physical cores under them (fewer where they are simultaneous threads of one core); null where unknown.</summary>
    public int? PhysicalCores { get; init; }

    /// <summary>Each kernel's best matrix-product rate (GFLOP/s) in the peak measurement.</summary>
    public IReadOnlyDictionary<string, double> PeakByKernel { get; init; } = new Dictionary<string, double>();

    /// <summary>How libtorch's MKL chose its kernels (see <see cref="Segmenter.Runtime.MklDispatch"/>).</summary>
    public string LibTorchBlas { get; init; } = "";

    /// <summary>Which 16-lane exponential libtorch's AVX-512 kernels call (see <see cref="Segmenter.Runtime.TorchExp"/>).</summary>
    public string LibTorchExp { get; init; } = "";

    /// <summary>For an ONNX backend: how its file writes attention (batched, per-head, or fused: one ONNX Runtime operator); null for torch.</summary>
    public string? Attention { get; init; }

    /// <summary>
    /// For inference: what a pass must hold at the least, in float32 — the weights, one transformer block's activations
    /// (without the [T, T] attention weights, which a fused or chunked attention never holds whole) and the logits at the
    /// image's size — against which <see cref="PeakRssBytes"/> is read; null for training steps.
    /// </summary>
    public long? MemoryNeedBytes { get; init; }

    /// <summary>For a training step: the parts its batch was split into, each on a thread of its own (1: the batch in one pass).</summary>
    public int? Shards { get; init; }

    /// <summary>With --train --profile: each shard's milliseconds per step (forward and loss, backward, waiting for its turn, adding its gradients).</summary>
    public IReadOnlyList<Segmenter.Training.ShardTimes>? ShardTimes { get; init; }

    /// <summary>
    /// For a training step split into shards: how much more processor time per image its slowest shard used than its
    /// fastest, the median over the timed steps (<see cref="CoreBalance"/>; 0.15: 15 % more). Above a few per cent one core
    /// ran slower than the other, and the step waited for it. Null for one shard, inference, or where the time is unknown.
    /// </summary>
    public double? ShardCpuSpread { get; init; }

    /// <summary>
    /// The share of the CPU time others used in the second before the benchmark, during its runs (the peak's products and
    /// every model's), or in the second after, whichever was the most: other processes, and the hypervisor's steal on a
    /// virtual machine (null where /proc/stat cannot be read).
    /// </summary>
    public double? OtherLoad { get; init; }

    /// <summary>The share of the CPU time the hypervisor gave to other virtual machines during the runs (/proc/stat's steal; null where it cannot be read).</summary>
    public double? Steal { get; init; }

    /// <summary>
    /// For the int8 backends on the CPU: ONNX Runtime's int8 product at a ViT-B MLP layer's shape, as the export writes it,
    /// in billions of operations a second, and that rate over its float32 product's at the same shape (how much an int8
    /// model can gain on this CPU at most, before memory). Null otherwise.
    /// </summary>
    public MatmulPeak.Int8Result? Int8Product { get; init; }

    public JsonObject ToJson()
    {
        var node = new JsonObject
        {
            ["model"] = Model,
            ["backend"] = Backend,
            ["mode"] = Train ? "train" : "inference",
            ["size"] = new JsonArray(Height, Width),
            ["batch"] = Batch,
            ["threads"] = Threads,
            ["shards"] = Shards,
            ["attention"] = Attention,
            ["latencyMedianMs"] = Math.Round(LatencyMedianMs, 2),
            ["latencyP90Ms"] = Math.Round(LatencyP90Ms, 2),
            ["imagesPerSecond"] = Math.Round(ImagesPerSecond, 3),
            ["gflopsPerImage"] = Math.Round(GflopsPerImage, 3),
            ["tokenMixingShare"] = Math.Round(TokenMixingShare, 4),
            ["gflopsPerSecond"] = Math.Round(GflopsPerSecond, 2),
            ["peakFraction"] = double.IsNaN(PeakFraction) ? null : Math.Round(PeakFraction, 4),   // null for int8 and on a GPU provider: the peak is the CPU's float32 rate
            ["matmulPeakGflops"] = Math.Round(MatmulPeakGflops, 2),
            ["peakSetBy"] = PeakSetBy,
            ["peakByKernel"] = new JsonObject(PeakByKernel.Select(k => new KeyValuePair<string, JsonNode?>(k.Key, Math.Round(k.Value, 2)))),
            ["processor"] = Processor,
            ["isa"] = new JsonArray(Isa.Select(f => (JsonNode?)f).ToArray()),
            ["logicalProcessors"] = LogicalProcessors,
            ["physicalCores"] = PhysicalCores,
            ["libtorchBlas"] = LibTorchBlas,
            ["libtorchExp"] = LibTorchExp,
            ["otherLoad"] = OtherLoad is { } load ? Math.Round(load, 3) : null,
            ["steal"] = Steal is { } stolen ? Math.Round(stolen, 3) : null,
            ["shardCpuSpread"] = ShardCpuSpread is { } spread ? Math.Round(spread, 3) : null,
            ["peakRssBytes"] = PeakRssBytes,
            ["parameterBytes"] = ParameterBytes,
            ["memoryNeedBytes"] = MemoryNeedBytes,
            ["peakRssOverNeed"] = MemoryNeedBytes is { } need ? Math.Round(PeakRssBytes / (double)need, 3) : null,
        };
        if (Int8Product is { } int8)
        {
            node["int8ProductGops"] = Math.Round(int8.Gops, 2);
            node["int8ProductSpeedup"] = Math.Round(int8.Speedup, 3);
            node["int8ProductShape"] = int8.Shape;
        }
        if (Stages is not null)
            node["stagesMs"] = new JsonObject(Stages.Select(s => new KeyValuePair<string, JsonNode?>(s.Key, Math.Round(s.Value, 2))));
        if (ShardTimes is not null)
            node["shardsMs"] = new JsonArray(ShardTimes.Select(s => (JsonNode?)new JsonObject
            {
                ["images"] = s.Images,
                ["forward"] = Math.Round(s.ForwardMs, 2),
                ["backward"] = Math.Round(s.BackwardMs, 2),
                ["wait"] = Math.Round(s.WaitMs, 2),
                ["add"] = Math.Round(s.AddMs, 2),
                ["computeCpu"] = s.ComputeCpuMs is { } cpu ? Math.Round(cpu, 2) : null,
            }).ToArray());
        return node;
    }
}
