namespace Segmenter.Export;

/// <summary>How to export a model to ONNX.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The default-domain opset (17 by default: what Debian's onnx checker accepts).</summary>
    public int Opset { get; init; } = 17;

    /// <summary>Portable or fused operators.</summary>
    public OnnxFlavour Flavour { get; init; } = OnnxFlavour.Portable;

    /// <summary>Weights and compute in float16 (input and output stay float32), for GPU deployment.</summary>
    public bool Float16 { get; init; }

    /// <summary>Add a second output, <c>labels</c>: the argmax over classes, [batch, height, width].</summary>
    public bool Labels { get; init; }

    /// <summary>
    /// Linear layers in int8 for CPU deployment: weights quantised symmetrically per output channel, activations quantised
    /// dynamically per tensor at run time (DynamicQuantizeLinear, MatMulInteger: standard ONNX operators any runtime runs).
    /// The patch embedding, attention's products, norms and the output stay float32. Float32 only. With the fused flavour the
    /// attention runs in ONNX Runtime's MultiHeadAttention (com.microsoft), a flash attention on the CPU.
    /// </summary>
    public bool Int8 { get; init; }

    /// <summary>
    /// The file is meant for a GPU (CUDA, TensorRT): attention defaults to <see cref="OnnxAttention.Batched"/>, the fewest
    /// operators. <see cref="Float16"/> files are GPU files too.
    /// </summary>
    public bool ForGpu { get; init; }

    /// <summary>
    /// How the portable graph (opsets 17 to 22) writes attention; null: all heads at once in a GPU file (<see cref="ForGpu"/>,
    /// <see cref="Float16"/>), one head at a time otherwise (a CPU holds one head's [T, T] scores, not all of them). The fused
    /// flavour and opset 23 write one attention operator instead.
    /// </summary>
    public OnnxAttention? Attention { get; init; }

    /// <summary>What <see cref="Attention"/> comes to: its value, or the default for where the file runs.</summary>
    public OnnxAttention AttentionLayout => Attention ?? (ForGpu || Float16 ? OnnxAttention.Batched : OnnxAttention.PerHead);

    /// <summary>
    /// A fixed image size (height, width) for the input and outputs, for fixed-shape deployment (TensorRT engines, edge
    /// runtimes); null: dynamic height and width. The batch stays dynamic.
    /// </summary>
    public (int Height, int Width)? StaticSize { get; init; }

    /// <summary>Throws, with what to change, for options that cannot go together.</summary>
    public void Validate()
    {
        if (Opset is < MinimumOpset or > MaximumOpset)
            throw new System.ArgumentException($"opset {Opset} is not supported: choose {MinimumOpset} to {MaximumOpset}");
        if (Int8 && Float16)
            throw new System.ArgumentException("--int8 quantises the float32 graph: it cannot be combined with --fp16");
        if (Attention is not null && (Flavour == OnnxFlavour.Fused || Opset >= 23))
            throw new System.ArgumentException("--attention chooses how the portable graph at opsets 17 to 22 writes attention; with --fused or --opset 23 " +
                                               "the attention is one operator: leave --attention out, or export the portable graph at a lower opset");
    }

    /// <summary>The lowest and highest opsets the exporter writes.</summary>
    public const int MinimumOpset = 17, MaximumOpset = 23;

    /// <summary>The ONNX IR version that goes with <see cref="Opset"/>.</summary>
    public long IrVersion => Opset switch
    {
        <= 18 => 8,
        <= 20 => 9,
        <= 22 => 10,
        _ => 11,
    };
}
