namespace Segmenter.Export;

/// <summary>What <see cref="VerifiedExport"/> writes: an ONNX file, a Triton repository entry, or both.</summary>
public sealed record ExportRequest
{
    /// <summary>The graph's options (opset, flavour, float16, labels output).</summary>
    public OnnxExportOptions Options { get; init; } = new();

    /// <summary>The .onnx file to write, or null.</summary>
    public string? OutputPath { get; init; }

    /// <summary>The Triton model repository to add an entry to, or null.</summary>
    public string? TritonRepository { get; init; }

    /// <summary>The Triton model's name; null: <see cref="Export.TritonRepository.SuggestName"/> of the model's name.</summary>
    public string? TritonName { get; init; }

    /// <summary>How the Triton entry serves the model (batching, instances, warm-up, TensorRT).</summary>
    public TritonSettings Triton { get; init; } = new();

    /// <summary>The largest accepted |ONNX Runtime − TorchSharp|; null: <see cref="ExportVerification.DefaultTolerance"/>.</summary>
    public double? Tolerance { get; init; }

    /// <summary>Told (stages done, stages in all, the stage now starting) as the export goes: building the graph, each check, writing.</summary>
    public System.Action<int, int, string>? Progress { get; init; }
}
