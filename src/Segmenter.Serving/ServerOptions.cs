using System;
using Segmenter.Inference.Imaging;
using Segmenter.Serving.Batching;

namespace Segmenter.Serving;

/// <summary>Where the server listens, its limits, and who may call it.</summary>
public sealed record ServerOptions
{
    /// <summary>The address to listen on: 127.0.0.1 (only this machine) by default; 0.0.0.0 or :: for every interface.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port; 0 picks a free one (see <see cref="SegmentationServer.Address"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Batching and the bounded queue.</summary>
    public BatchingOptions Batching { get; init; } = new(MaxDelay: TimeSpan.FromMilliseconds(5));

    /// <summary>The largest request body accepted; larger ones are answered 413 before they are read (when their length is declared).</summary>
    public long MaxBodyBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// The most memory one <c>/infer</c> request's attention scores may take (images × heads × tokens² floats), past which
    /// it is answered 413 before it runs; null: half the memory the process may use.
    /// </summary>
    public long? MaxAttentionBytes { get; init; }

    /// <summary>
    /// The largest image <c>/segment</c> decodes (a header claiming more is refused with 400 before any memory is taken).
    /// Images over <see cref="BatchingOptions.MaxPixels"/> are run with their short side at the model's training size
    /// (<see cref="Segmenter.Inference.SegmentationInference.RunSize"/>) and labelled at their own size. The default takes
    /// 48-megapixel photos.
    /// </summary>
    public long MaxImagePixels { get; init; } = 50_000_000;

    /// <summary>When set, every request but the health checks and the page must carry <c>Authorization: Bearer</c> this key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>How long a shutdown (SIGTERM, Ctrl+C) waits for requests in flight.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An image size to run a full batch of before listening (null: none), so the model's working memory and the server's
    /// buffers are taken at the start (steady memory under load) and the first requests do not pay for it.
    /// </summary>
    public (int Height, int Width)? Warmup { get; init; }

    /// <summary>Request log lines: json (one object per line, for log collectors), text, or none.</summary>
    public string LogFormat { get; init; } = "json";

    /// <summary>The largest body limit: a request body is read into one array.</summary>
    public const long MaxBodyLimit = 2047L * 1024 * 1024;

    /// <summary>Throws unless the settings are in range.</summary>
    public void Validate()
    {
        Batching.Validate();
        if (Host.Trim().ToLowerInvariant() is not ("localhost" or "0.0.0.0" or "*" or "+") && !System.Net.IPAddress.TryParse(Host.Trim('[', ']'), out _))
            throw new ArgumentException($"--host {Host}: give an IP address (127.0.0.1, 0.0.0.0, ::1, ::) or localhost");
        if (Port < 0 || Port > 65535) throw new ArgumentException($"--port {Port}: give 0 to 65535");
        if (MaxBodyBytes < 1024 || MaxBodyBytes > MaxBodyLimit)
            throw new ArgumentException($"--max-body-mb {MaxBodyBytes / (1024.0 * 1024):0.###}: give 1 KB to {MaxBodyLimit / (1024 * 1024)} MB (a body is read into one buffer)");
        if (MaxImagePixels < 1 || MaxImagePixels > ImageFiles.MaximumPixels)
            throw new ArgumentException($"--max-image-pixels {MaxImagePixels}: give 1 to {ImageFiles.MaximumPixels:N0} pixels");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("--api-key is empty: give a key, or leave the option out");
        if (Warmup is { } size && (size.Height < 1 || size.Width < 1)) throw new ArgumentException($"--warmup {size.Height}x{size.Width}: give a positive size");
        if (LogFormat is not ("json" or "text" or "none")) throw new ArgumentException($"--log-format {LogFormat}: use json, text or none");
    }
}
