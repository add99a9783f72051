using System;
using System.Collections.Generic;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Export;

/// <summary>One comparison of an exported file with the TorchSharp model.</summary>
/// <param name="Shape">The input shape.</param>
/// <param name="MaxAbsoluteDifference">max |ONNX Runtime − TorchSharp| over the logits.</param>
public sealed record VerificationRun(long[] Shape, double MaxAbsoluteDifference);

/// <summary>Checks an exported file against the model it came from.</summary>
public static class ExportVerification
{
    /// <summary>The default tolerance: 1e-4 for float32, 5e-2 for float16 exports.</summary>
    public static double DefaultTolerance(OnnxExportOptions options) => options.Float16 ? 5e-2 : 1e-4;

    /// <summary>
    /// Runs two random inputs of batch 2 — one at the training size, one whose sides are not multiples of
    /// the patch — through ONNX Runtime and the model, and returns the differences.
    /// </summary>
    public static IReadOnlyList<VerificationRun> Run(SegmenterModel model, string onnxPath, int seed = 0)
    {
        var spec = model.Specification;
        var shapes = new[]
        {
            new long[] { 2, 3, Math.Min(spec.ImageHeight, 512), Math.Min(spec.ImageWidth, 512) },
            new long[] { 2, 3, 3 * spec.PatchSize + spec.PatchSize / 2 + 1, 4 * spec.PatchSize + 3 },
        };
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        using var session = new OnnxSession(onnxPath);
        var results = new List<VerificationRun>();
        foreach (var shape in shapes)
        {
            using var images = randn(shape, generator: generator);
            using var expected = model.Predict(images).cpu();
            using var actual = session.Run(images);
            using var difference = actual.Minus(expected).abs_();
            results.Add(new VerificationRun(shape, difference.max().item<float>()));
        }
        return results;
    }
}
