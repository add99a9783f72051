using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Onnx;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Export;

/// <summary>Checks an exported file against the model it came from.</summary>
public static class ExportVerification
{
    /// <summary>The default tolerance: 1e-4 for float32, 5e-2 for float16 exports.</summary>
    public static double DefaultTolerance(OnnxExportOptions options) => options.Float16 ? 5e-2 : 1e-4;

    /// <summary>
    /// Runs two random inputs of batch 2 — one at the training size, one whose sides are not multiples of
    /// the patch — through ONNX Runtime and the model (on whatever device it is), and returns the differences.
    /// The model is checked in memory, so nothing is written before it passes.
    /// </summary>
    public static IReadOnlyList<VerificationRun> Run(SegmenterModel model, ModelProto exported, int seed = 0, Action<int>? onRun = null)
    {
        using var session = new OnnxSession(exported.ToByteArray());
        return Run(model, session, TritonRepository.StaticSize(exported), seed, onRun);
    }

    /// <summary>How many inputs a check runs.</summary>
    public const int Runs = 2;

    /// <summary>The same check for an exported file.</summary>
    public static IReadOnlyList<VerificationRun> Run(SegmenterModel model, string onnxPath, int seed = 0)
    {
        using var session = new OnnxSession(onnxPath);
        return Run(model, session, TritonRepository.StaticSize(ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath))), seed, null);
    }

    private static IReadOnlyList<VerificationRun> Run(SegmenterModel model, OnnxSession session, (int Height, int Width)? staticSize, int seed, Action<int>? onRun)
    {
        var spec = model.Specification;
        // A fixed-size graph takes only its size: two random batches of it, the second of one image.
        var shapes = staticSize is { } size
            ? new[] { new long[] { 2, 3, size.Height, size.Width }, new long[] { 1, 3, size.Height, size.Width } }
            : new[]
            {
                new long[] { 2, 3, Math.Min(spec.ImageHeight, 512), Math.Min(spec.ImageWidth, 512) },
                new long[] { 2, 3, 3 * spec.PatchSize + spec.PatchSize / 2 + 1, 4 * spec.PatchSize + 3 },
            };
        var device = model.parameters().First().device;
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        var results = new List<VerificationRun>();
        foreach (var shape in shapes)
        {
            using var scope = NewDisposeScope();
            var images = randn(shape, generator: generator);
            var expected = model.Predict(images.to(device)).cpu();
            var actual = session.Run(images);
            double agreement = actual.argmax(1).eq(expected.argmax(1)).to(float64).mean().item<double>();
            results.Add(new VerificationRun(shape, actual.sub(expected).abs_().max().item<float>(), agreement));
            onRun?.Invoke(results.Count);
        }
        return results;
    }
}
