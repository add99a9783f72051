using System.Collections.Generic;

namespace Segmenter.Export;

/// <summary>How a Triton model repository entry serves the exported model.</summary>
public sealed record TritonSettings
{
    /// <summary>Triton's max_batch_size: requests of equal shape are batched up to it.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>dynamic_batching's max_queue_delay_microseconds: how long a request waits for others to batch with.</summary>
    public int MaxQueueDelayMicroseconds { get; init; } = 100;

    /// <summary>instance_group's count: model instances per device.</summary>
    public int Instances { get; init; } = 1;

    /// <summary>
    /// Image sizes (height, width) run once at load, batch 1, before the model is ready (model_warmup): with TensorRT, the
    /// engine for each is built then rather than on the first request.
    /// </summary>
    public IReadOnlyList<(int Height, int Width)> Warmup { get; init; } = new List<(int, int)>();

    /// <summary>Run through ONNX Runtime's TensorRT execution provider on the GPU (null: the backend's default, CUDA or CPU).</summary>
    public TensorRtSettings? TensorRt { get; init; }
}

/// <summary>The ONNX Runtime backend's TensorRT accelerator settings.</summary>
public sealed record TensorRtSettings
{
    /// <summary>Half-precision engines (precision_mode FP16), with LayerNorm kept in float32 (trt_layer_norm_fp32_fallback).</summary>
    public bool Float16 { get; init; }

    /// <summary>Where engines and timing caches are kept between loads (trt_engine_cache_path, trt_timing_cache_path); a path inside the server's container.</summary>
    public string CachePath { get; init; } = "/tmp/segmenter-trt-cache";

    /// <summary>
    /// The optimisation profile, (batch, height, width) at its minimum, optimum and maximum; null: TensorRT builds an engine for
    /// each new input shape it meets (a rebuild of seconds to minutes per shape).
    /// </summary>
    public (TensorShape Min, TensorShape Opt, TensorShape Max)? Profile { get; init; }

    /// <summary>The GPU memory TensorRT may use while building (max_workspace_size_bytes).</summary>
    public long WorkspaceBytes { get; init; } = 1L << 30;
}

/// <summary>An image batch's shape: batch, height, width (three channels).</summary>
public readonly record struct TensorShape(int Batch, int Height, int Width)
{
    /// <summary>As TensorRT's profile options write it for the input "image": <c>image:Bx3xHxW</c>.</summary>
    public override string ToString() => $"image:{Batch}x3x{Height}x{Width}";
}
