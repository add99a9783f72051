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

    /// <summary>TensorRT's settings (precision, caches, shape profile) when <see cref="Provider"/> is tensorrt; null: the defaults.</summary>
    public TensorRtSettings? TensorRt { get; init; }
}
