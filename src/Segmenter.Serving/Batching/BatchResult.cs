using System;
using static TorchSharp.torch;

namespace Segmenter.Serving.Batching;

/// <summary>
/// One request's share of a batch: the logits [n, K, H, W] and the labels [n, H, W] (uint8 up to 256 classes, else int64)
/// that it asked for. The receiver owns the tensors.
/// </summary>
public sealed class BatchResult : IDisposable
{
    internal BatchResult(Tensor? logits, Tensor? labels, int batchSize)
    {
        Logits = logits;
        Labels = labels;
        BatchSize = batchSize;
    }

    /// <summary>The logits, when asked for.</summary>
    public Tensor? Logits { get; }

    /// <summary>The argmax over classes, when asked for.</summary>
    public Tensor? Labels { get; }

    /// <summary>The images in the run this request was part of (its own and others').</summary>
    public int BatchSize { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Logits?.Dispose();
        Labels?.Dispose();
    }
}

/// <summary>Which outputs a request wants.</summary>
[Flags]
public enum Outputs
{
    /// <summary>The logits [n, K, H, W].</summary>
    Logits = 1,

    /// <summary>The labels [n, H, W].</summary>
    Labels = 2,
}
