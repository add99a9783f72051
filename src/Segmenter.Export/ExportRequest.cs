namespace Segmenter.Export;

/// <summary>What <see cref="VerifiedExport"/> writes: an ONNX file, a Triton repository entry, or both.</summary>
public sealed record ExportRequest
{
    /// <summary>The graph's options (opset, flavour, float16, labels output).</summary>
    public OnnxExportOptions Options { get; init; } = new();

    /// <summary>The .onnx file to write, or null.</summary>
    public string? OutputPath { get; init; }

    /// <summary>
    /// Write the weights in a data file beside the .onnx file (ONNX's external data), which ONNX Runtime maps into memory:
    /// a session then opens holding the weights about once instead of twice.
    /// </summary>
    public bool ExternalData { get; init; }

    /// <summary>The Triton model repository to add an entry to, or null.</summary>
    public string? TritonRepository { get; init; }

    /// <summary>The Triton model's name; null: <see cref="Export.TritonRepository.SuggestName"/> of the model's name.</summary>
    public string? TritonName { get; init; }

    /// <summary>How the Triton entry serves the model (batching, instances, warm-up, TensorRT).</summary>
    public TritonSettings Triton { get; init; } = new();

    /// <summary>The largest accepted |ONNX Runtime − TorchSharp|; null: <see cref="ExportVerification.DefaultTolerance"/>.</summary>
    public double? Tolerance { get; init; }

    /// <summary>
    /// For an int8 export, the smallest accepted share of pixels whose class (argmax) agrees with the float32 model on the
    /// check's random inputs; an int8 graph is held to its labels, not to a logits tolerance.
    /// </summary>
    public double MinimumAgreement { get; init; } = DefaultMinimumAgreement;

    /// <summary>The default <see cref="MinimumAgreement"/>: 0.9 on random inputs, whose class margins are far thinner than real images'.</summary>
    public const double DefaultMinimumAgreement = 0.9;

    /// <summary>Told (stages done, stages in all, the stage now starting) as the export goes: building the graph, each check, writing.</summary>
    public System.Action<int, int, string>? Progress { get; init; }
}
