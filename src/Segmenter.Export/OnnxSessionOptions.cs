using Microsoft.ML.OnnxRuntime;

namespace Segmenter.Export;

/// <summary>Settings of an ONNX Runtime session.</summary>
public sealed record OnnxSessionOptions
{
    /// <summary>Threads for one operator (0: ONNX Runtime's default, the physical cores).</summary>
    public int Threads { get; init; }

    /// <summary>Graph optimisation (constant folding, fusions); all by default.</summary>
    public GraphOptimizationLevel Optimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Execution provider: cpu, cuda or tensorrt.</summary>
    public string Provider { get; init; } = "cpu";

    /// <summary>Device index for cuda and tensorrt.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Opens an export of this project (float32) in two parts, cut where its class maps are upsampled to the image, so that
    /// <see cref="OnnxSession.RunLabelsInto"/> takes the labels without making the logits (K maps at full size). The logits
    /// are computed by the same operators as before. CPU only; a graph of another kind runs whole. Off by default.
    /// </summary>
    public bool SplitAtUpsampling { get; init; }

    /// <summary>
    /// ONNX Runtime's memory pattern: after a run, it plans each input shape's intermediate tensors as one block, allocated
    /// on later runs beside what its arena already holds. Off by default: on the CPU it made Seg-B/16 at 1024² take 4.2 GB
    /// rather than 2.6 GB from its second run on, for no speed at 512² or 1024² (docs/performance.md, "ONNX Runtime's memory").
    /// </summary>
    public bool MemoryPattern { get; init; }

    /// <summary>TensorRT's settings (precision, caches, shape profile) when <see cref="Provider"/> is tensorrt; null: the defaults.</summary>
    public TensorRtSettings? TensorRt { get; init; }
}
