using Prometheus;

namespace Segmenter.Serving;

/// <summary>
/// The server's Prometheus metrics, in a registry of its own (so two servers in one process count apart), with the
/// process's own (.NET runtime, resident memory) alongside.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>A registry with the server's metrics and the process's.</summary>
    public ServerMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("segmenter_requests_total", "HTTP requests answered, by endpoint and status code.", new[] { "endpoint", "code" });
        RequestSeconds = factory.CreateHistogram("segmenter_request_duration_seconds", "Time from a request's arrival to its answer, by endpoint.", new[] { "endpoint" },
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        BatchSize = factory.CreateHistogram("segmenter_batch_size", "Images in each run of the model.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        InferenceSeconds = factory.CreateHistogram("segmenter_inference_duration_seconds", "Time of each run of the model.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        Queue = factory.CreateGauge("segmenter_queue_length", "Requests waiting for the model.");
        InFlight = factory.CreateGauge("segmenter_requests_in_flight", "Requests admitted and not yet answered (bounded by --max-queue).");
        var tensors = factory.CreateGauge("segmenter_tensors_alive", "TorchSharp tensor handles not yet disposed in this process (one that only grows is a leak).");
        Registry.AddBeforeCollectCallback(() => tensors.Set(TorchSharp.torch.Tensor.TotalCount));
        Errors = factory.CreateCounter("segmenter_errors_total", "Requests not answered with a result, by kind: bad_request, too_large, unauthorized, not_found, overloaded, model, cancelled, internal.", new[] { "kind" });
    }

    /// <summary>The registry /metrics exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Requests by endpoint and status code.</summary>
    public Counter Requests { get; }

    /// <summary>Request latency by endpoint.</summary>
    public Histogram RequestSeconds { get; }

    /// <summary>Images per model run.</summary>
    public Histogram BatchSize { get; }

    /// <summary>Model run time.</summary>
    public Histogram InferenceSeconds { get; }

    /// <summary>Requests waiting for the model.</summary>
    public Gauge Queue { get; }

    /// <summary>Requests admitted.</summary>
    public Gauge InFlight { get; }

    /// <summary>Failures by kind.</summary>
    public Counter Errors { get; }
}
