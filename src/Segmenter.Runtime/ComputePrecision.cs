namespace Segmenter.Runtime;

/// <summary>The number format of a model's matrix products at inference.</summary>
public enum ComputePrecision
{
    /// <summary>float32 throughout (the default, and what training uses).</summary>
    Float32,

    /// <summary>
    /// The transformer blocks' matrix products (qkv, attention, proj, fc1, fc2) in bfloat16, with float32 weights kept as
    /// the master copy, GELU between fc1 and fc2 in bfloat16 (as autocast runs it), and LayerNorm, the residual stream, the
    /// decoder and the output in float32.
    /// Fast where the CPU has bf16 instructions (AVX512-BF16, AMX) or on a GPU.
    /// </summary>
    BFloat16,
}
