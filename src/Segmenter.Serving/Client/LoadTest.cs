using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Segmenter.Serving.Client;

/// <summary>
/// What to send: to which server and model, how many at once, for how long, and images of which size. With
/// <see cref="Rate"/> the load is open: requests start on a fixed schedule of that many a second whatever the answers (as
/// wrk2 or k6's constant arrival rate), up to <see cref="Concurrency"/> in flight; without it, closed.
/// </summary>
public sealed record LoadOptions(Uri Server, string? Model, int Concurrency, TimeSpan Duration, int Height, int Width, int Batch = 1, string? ApiKey = null,
    TimeSpan Warmup = default, double? Rate = null);

/// <summary>Latency percentiles in milliseconds of a set of requests.</summary>
public sealed record Latencies(int Count, double P50, double P90, double P99, double Max)
{
    /// <summary>Percentiles of <paramref name="milliseconds"/> (nearest rank); zeros when there are none.</summary>
    public static Latencies Of(IReadOnlyCollection<double> milliseconds)
    {
        if (milliseconds.Count == 0) return new Latencies(0, 0, 0, 0, 0);
        var sorted = milliseconds.OrderBy(m => m).ToArray();
        double At(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Latencies(sorted.Length, At(0.50), At(0.90), At(0.99), sorted[^1]);
    }
}

/// <summary>
/// The figures of a load test: requests by status, images per second answered with 200, latency percentiles (all, 200s, 503s),
/// transport errors, and the server's resident memory before, at its highest (sampled every second) and after (from its
/// /metrics, when it exports it). In an open test, <see cref="Rate"/> is the schedule and <see cref="NotSent"/> counts the
/// requests the client could not start because <see cref="Concurrency"/> were in flight.
/// </summary>
public sealed record LoadResult(string Model, int Concurrency, double Seconds, int Height, int Width, int Batch, IReadOnlyDictionary<int, int> ByStatus, int TransportErrors,
    double ImagesPerSecond, Latencies Ok, Latencies Busy, Latencies All, long? ServerRssBefore, long? ServerRssAfter, long? ServerRssPeak = null, double? Rate = null, int NotSent = 0)
{
    /// <summary>Requests answered other than 200 and 503, plus transport failures.</summary>
    public int Errors => TransportErrors + ByStatus.Where(s => s.Key is not (200 or 503)).Sum(s => s.Value);
}

/// <summary>
/// A load generator. Closed (the default): <see cref="LoadOptions.Concurrency"/> clients each send an inference request (binary
/// image, binary labels back), wait for the answer and send the next, for <see cref="LoadOptions.Duration"/>; a client refused
/// with 503 waits for its Retry-After first, so a closed test never offers more than the server asks for. Open (with
/// <see cref="LoadOptions.Rate"/>): requests start on schedule whatever the answers, which is how overload is measured.
/// Images go with <c>Expect: 100-continue</c> (see <see cref="InferenceClient.InferRequest(string, byte[], int)"/>),
/// so a refusal costs no upload. One image is made once and reused, so the client costs little of the machine it
/// shares with the server.
/// </summary>
public static class LoadTest
{
    /// <summary>Runs the test; <paramref name="progress"/> hears a line every few seconds.</summary>
    public static async Task<LoadResult> RunAsync(LoadOptions options, Action<string>? progress = null, CancellationToken cancellation = default)
    {
        if (options.Concurrency < 1) throw new ArgumentException($"--concurrency {options.Concurrency}: give at least 1");
        if (options.Duration <= TimeSpan.Zero) throw new ArgumentException("--duration must be positive");
        if (options.Rate is { } rate && (!(rate > 0) || rate > 100_000)) throw new ArgumentException($"--rate {rate}: give a positive number of requests a second, up to 100000");
        using var client = new InferenceClient(options.Server, options.ApiKey, options.Concurrency + 2);
        var model = options.Model ?? (await client.ModelsAsync(cancellation)).FirstOrDefault()
            ?? throw new ArgumentException($"{options.Server} lists no models: give --model");
        var random = new Random(1);
        var image = new float[(long)options.Batch * 3 * options.Height * options.Width];
        for (int i = 0; i < image.Length; i++) image[i] = (float)(random.NextDouble() * 4 - 2);
        var outputs = new[] { "labels" };
        var (body, headerLength) = InferenceClient.InferBody(image, options.Batch, options.Height, options.Width, outputs);

        int transport = 0, notSent = 0;
        // One request first: a wrong model, size or key is reported as such, not as a run of errors.
        await client.InferAsync(model, image, options.Batch, options.Height, options.Width, outputs, cancellation);
        if (options.Warmup > TimeSpan.Zero) await Load(options.Warmup, null);
        long? rssBefore = await client.ServerMemoryAsync(cancellation);

        var samples = new ConcurrentBag<(int Status, double Ms)>();
        var clock = Stopwatch.StartNew();
        using var reporter = progress is null ? null : new Timer(_ => progress($"{clock.Elapsed.TotalSeconds:F0} s: {samples.Count} answers, {samples.Count(s => s.Status == 200)} of them 200"),
            null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var peak = SamplePeakMemory(client, rssBefore, sampling.Token);
        await Load(options.Duration, samples);
        double seconds = clock.Elapsed.TotalSeconds;
        long? rssAfter = await client.ServerMemoryAsync(cancellation);
        sampling.Cancel();
        long? rssPeak = Max(await peak, rssAfter);

        var all = samples.ToList();
        var byStatus = all.GroupBy(s => s.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        int okCount = byStatus.GetValueOrDefault(200);
        return new LoadResult(model, options.Concurrency, seconds, options.Height, options.Width, options.Batch, byStatus, transport,
            okCount * options.Batch / seconds, Latencies.Of(all.Where(s => s.Status == 200).Select(s => s.Ms).ToList()),
            Latencies.Of(all.Where(s => s.Status == 503).Select(s => s.Ms).ToList()), Latencies.Of(all.Select(s => s.Ms).ToList()), rssBefore, rssAfter,
            rssPeak, options.Rate, notSent);

        Task Load(TimeSpan duration, ConcurrentBag<(int, double)>? record) => options.Rate is { } rate ? Open(duration, rate, record) : Closed(duration, record);

        async Task Closed(TimeSpan duration, ConcurrentBag<(int, double)>? record)
        {
            var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var workers = Enumerable.Range(0, options.Concurrency).Select(async _ =>
            {
                while (Stopwatch.GetTimestamp() < end && !cancellation.IsCancellationRequested)
                {
                    // A refused client waits as the server asks (Retry-After), as a well-behaved client does.
                    if (await Send(record) is { StatusCode: 503 } refused) await Task.Delay(refused.RetryAfter ?? TimeSpan.FromSeconds(1), cancellation);
                }
            });
            await Task.WhenAll(workers);
        }

        async Task Open(TimeSpan duration, double rate, ConcurrentBag<(int, double)>? record)
        {
            var start = Stopwatch.GetTimestamp();
            long count = (long)Math.Round(duration.TotalSeconds * rate);
            var inFlight = new List<Task>();
            using var slots = new SemaphoreSlim(options.Concurrency);
            for (long i = 0; i < count && !cancellation.IsCancellationRequested; i++)
            {
                var due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero) await Task.Delay(due, cancellation);
                if (!slots.Wait(0))
                {
                    if (record is not null) notSent++;
                    continue;
                }
                inFlight.Add(Task.Run(async () =>
                {
                    try { await Send(record); }
                    finally { slots.Release(); }
                }));
            }
            await Task.WhenAll(inFlight);
        }

        async Task<(int StatusCode, TimeSpan? RetryAfter)?> Send(ConcurrentBag<(int, double)>? record)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var request = InferenceClient.InferRequest(model, body, headerLength);
                using var response = await client.SendAsync(request, cancellation);
                record?.Add(((int)response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                return ((int)response.StatusCode, response.Headers.RetryAfter?.Delta);
            }
            catch (HttpRequestException)
            {
                if (record is not null) Interlocked.Increment(ref transport);
                return null;
            }
        }
    }

    /// <summary>The server's highest resident memory, read from its /metrics every second until cancelled.</summary>
    private static async Task<long?> SamplePeakMemory(InferenceClient client, long? first, CancellationToken cancellation)
    {
        long? peak = first;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
                peak = Max(peak, await client.ServerMemoryAsync(cancellation));
            }
        }
        catch (OperationCanceledException)
        {
            return peak;
        }
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}
