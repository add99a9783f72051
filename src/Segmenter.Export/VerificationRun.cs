namespace Segmenter.Export;

/// <summary>One comparison of an exported file with the TorchSharp model.</summary>
/// <param name="Shape">The input shape.</param>
/// <param name="MaxAbsoluteDifference">max |ONNX Runtime − TorchSharp| over the logits.</param>
/// <param name="LabelAgreement">The share of pixels whose predicted class (argmax) is the same in both.</param>
public sealed record VerificationRun(long[] Shape, double MaxAbsoluteDifference, double LabelAgreement = 1);
