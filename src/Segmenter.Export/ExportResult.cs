using System.Collections.Generic;
using Onnx;

namespace Segmenter.Export;

/// <summary>A verified and written export.</summary>
/// <param name="Model">The ONNX model.</param>
/// <param name="Runs">The verification runs (input shape and max |ONNX Runtime − TorchSharp|).</param>
/// <param name="Tolerance">The tolerance the runs were held to.</param>
/// <param name="OnnxPath">The .onnx file written (the Triton entry's model.onnx when only a repository was asked for).</param>
/// <param name="TritonEntry">The Triton entry's folder, or null.</param>
public sealed record ExportResult(ModelProto Model, IReadOnlyList<VerificationRun> Runs, double Tolerance, string OnnxPath, string? TritonEntry);
