namespace Segmenter.Export;

/// <summary>One comparison of an exported file with the TorchSharp model.</summary>
/// <param name="Shape">The input shape.</param>
/// <param name="MaxAbsoluteDifference">max |ONNX Runtime − TorchSharp| over the logits.</param>
public sealed record VerificationRun(long[] Shape, double MaxAbsoluteDifference);
