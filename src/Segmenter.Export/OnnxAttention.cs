namespace Segmenter.Export;

/// <summary>How the portable graph (opsets 17 to 22) writes attention: its two products and the softmax between them.</summary>
public enum OnnxAttention
{
    /// <summary>
    /// All heads at once: one batched product makes the [B, heads, T, T] scores. The fewest operators, for GPUs and
    /// TensorRT (the default for GPU files); on a CPU, ONNX Runtime holds the scores and their softmax for every head together.
    /// </summary>
    Batched,

    /// <summary>
    /// One head at a time: each head's [B, 1, T, T] scores are made, used and freed before the next head's, so the
    /// attention holds one head's part of that memory (Seg-B/16 at 1024² in ONNX Runtime on a CPU: 1.7 rather than 2.6 GB),
    /// and on a CPU it measured faster at large images and within 6 % at small ones (docs/performance.md). The default for CPU files. More operators,
    /// which a GPU pays for in kernel launches.
    /// </summary>
    PerHead,
}
