using System;

namespace Segmenter.Serving.Batching;

/// <summary>How requests are grouped and how many may wait.</summary>
/// <param name="MaxBatch">The most images in one run of the model.</param>
/// <param name="MaxDelay">How long the oldest waiting request may be held for others of its shape to join it.</param>
/// <param name="MaxQueue">The most requests admitted at once (waiting or running); past it the server answers 503 at once.</param>
/// <param name="MaxPixels">The most pixels (images × height × width) in one request and, unless one request alone has more, in one batch.</param>
public sealed record BatchingOptions(int MaxBatch = 8, TimeSpan MaxDelay = default, int MaxQueue = 16, long MaxPixels = 4 * 1024 * 1024)
{
    /// <summary>How the batcher's thread, which runs the model, is scheduled against the request threads.</summary>
    public ModelThreadPriority ModelThreads { get; init; } = ModelThreadPriority.Low;

    /// <summary>Throws unless every setting is in range.</summary>
    public void Validate()
    {
        if (MaxBatch < 1 || MaxBatch > 1024) throw new ArgumentException($"--max-batch {MaxBatch}: give 1 to 1024 images");
        if (MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromSeconds(10)) throw new ArgumentException($"--max-delay-ms {MaxDelay.TotalMilliseconds}: give 0 to 10000 ms");
        if (MaxQueue < 1 || MaxQueue > 100_000) throw new ArgumentException($"--max-queue {MaxQueue}: give 1 to 100000 requests");
        if (MaxPixels < 1) throw new ArgumentException($"--max-pixels {MaxPixels}: give a positive number of pixels");
    }
}
