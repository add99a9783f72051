using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using Segmenter.Inference;
using Segmenter.Serving.Batching;
using Segmenter.Serving.Protocol;

namespace Segmenter.Serving;

/// <summary>
/// An HTTP server for one model on Kestrel: the Open Inference Protocol (KServe v2) — health, metadata, inference with JSON
/// or binary tensors — plus an image endpoint and a page for people, Prometheus metrics, request logs, an optional API key,
/// dynamic batching with a bounded queue, and a graceful shutdown on SIGTERM that answers the requests in flight.
/// </summary>
public sealed class SegmentationServer : IAsyncDisposable
{
    private const string EndpointKey = "segmenter.endpoint", BatchKey = "segmenter.batch", ModelKey = "segmenter.model";

    private readonly WebApplication app;
    private readonly IReadOnlyList<IInferenceEngine> engines;
    private readonly DynamicBatcher batcher;
    private readonly ImageSegmenter? segmenter;
    private readonly SemaphoreSlim imageWork;
    private readonly ModelDescription model;
    private readonly ServerOptions options;
    private readonly long attentionBudget;   // ServerOptions.MaxAttentionBytes, or half the memory the process may use
    private readonly ILogger requestLog;
    private readonly byte[]? apiKey;
    private volatile bool stopping;
    private int disposed;

    private SegmentationServer(WebApplication app, ModelDescription model, IReadOnlyList<IInferenceEngine> engines, ServerOptions options, ServerMetrics metrics)
    {
        this.app = app;
        this.model = model;
        this.engines = engines;
        this.options = options;
        attentionBudget = options.MaxAttentionBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
        Metrics = metrics;
        batcher = new DynamicBatcher(engines, options.Batching, metrics);
        segmenter = model.Classes <= Segmenter.Inference.Imaging.LabelMap.MaximumClasses ? new ImageSegmenter(model, batcher, options.Batching, options.MaxImagePixels) : null;
        // Images decoded, segmented and encoded at once: one per instance of the model (more would only wait on it), so the
        // memory of /segment is that many images whatever their number in the queue (16 photos of 12 megapixels at once had
        // taken 8.2 GB); the others wait holding only their compressed bytes.
        imageWork = new SemaphoreSlim(engines.Count);
        requestLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Segmenter.Serving.Requests");
        apiKey = options.ApiKey is null ? null : Encoding.UTF8.GetBytes(options.ApiKey);
        app.Lifetime.ApplicationStopping.Register(() => stopping = true);
        Map();
    }

    /// <summary>
    /// A server for <paramref name="model"/> run by <paramref name="engine"/>, which the server then owns.
    /// <paramref name="logging"/> replaces the request log's destination (tests capture it this way).
    /// </summary>
    public static SegmentationServer Create(ModelDescription model, IInferenceEngine engine, ServerOptions options, Action<ILoggingBuilder>? logging = null) =>
        Create(model, new[] { engine }, options, logging);

    /// <summary>
    /// A server for <paramref name="model"/> run by <paramref name="engines"/>, instances of the model that run batches side by
    /// side (each on a thread of its own), which the server then owns.
    /// </summary>
    public static SegmentationServer Create(ModelDescription model, IReadOnlyList<IInferenceEngine> engines, ServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        options.Validate();
        Runtime.NativeSettings.MapLargeAllocations();   // request-sized buffers go back to the system: memory stays flat under load
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "segmenter", ContentRootPath = AppContext.BaseDirectory });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System", LogLevel.Warning);
        if (logging is not null) logging(builder.Logging);
        else if (options.LogFormat == "json") builder.Logging.AddJsonConsole(json => { json.UseUtcTimestamp = true; json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; });
        else if (options.LogFormat == "text") builder.Logging.AddSimpleConsole(text => { text.SingleLine = true; text.UseUtcTimestamp = true; text.TimestampFormat = "HH:mm:ss.fff "; });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            Listen(kestrel, options.Host, options.Port);
        });
        var metrics = new ServerMetrics();
        try
        {
            return new SegmentationServer(builder.Build(), model, engines, options, metrics);
        }
        catch
        {
            foreach (var engine in engines) engine.Dispose();
            throw;
        }
    }

    /// <summary>The server's metrics (also at /metrics).</summary>
    public ServerMetrics Metrics { get; }

    /// <summary>The address the server listens on, once started (with the port chosen when 0 was asked for).</summary>
    public Uri Address
    {
        get
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("the server has not started");
            return new Uri(first.Replace("[::]", "localhost").Replace("0.0.0.0", "localhost"));
        }
    }

    /// <summary>Starts listening; a clear error if the address is taken or cannot be bound.</summary>
    public async Task StartAsync(CancellationToken cancellation = default)
    {
        if (options.Warmup is { } size)
        {
            var (height, width) = model.StaticSize ?? size;
            long count = Math.Clamp(options.Batching.MaxPixels / ((long)height * width), 1, options.Batching.MaxBatch);
            using var images = TorchSharp.torch.zeros(count, 3, height, width);
            // A full batch for each instance, sent together: while one instance runs its batch the next takes the next one.
            var runs = Enumerable.Range(0, batcher.Instances).Select(_ => batcher.RunAsync(images, Outputs.Labels, cancellation)).ToList();
            foreach (var warm in await Task.WhenAll(runs)) warm.Dispose();
        }
        try
        {
            await app.StartAsync(cancellation);
        }
        catch (IOException e)
        {
            throw new IOException($"cannot listen on {options.Host}:{options.Port}: {e.Message} (is another server on that port? use --port)", e);
        }
    }

    /// <summary>Waits until the server is told to stop (SIGTERM, Ctrl+C, or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    /// <summary>
    /// Stops gracefully: no new connections, the requests in flight answered (up to the shutdown timeout), then the
    /// batcher drained. The process's SIGTERM handler does the same.
    /// </summary>
    public async Task StopAsync()
    {
        stopping = true;
        await app.StopAsync();
        batcher.Drain(options.ShutdownTimeout);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1) return;
        try
        {
            await StopAsync();
        }
        finally
        {
            batcher.Dispose();
            await app.DisposeAsync();
            imageWork.Dispose();
            foreach (var engine in engines) engine.Dispose();
        }
    }

    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string host, int port)
    {
        switch (host.Trim().ToLowerInvariant())
        {
            case "localhost":
                kestrel.ListenLocalhost(port);
                return;
            case "0.0.0.0" or "*" or "+":
                kestrel.ListenAnyIP(port);
                return;
            default:
                kestrel.Listen(IPAddress.Parse(host.Trim('[', ']')), port);   // checked by ServerOptions.Validate
                return;
        }
    }

    private void Map()
    {
        app.Use(Observe);
        app.Use(Authorize);

        MapRead("/v2/health/live", context => Json(context, "health", w => w.WriteBoolean("live", true)));
        MapRead("/v2/health/ready", context => Ready(context, "health", w => w.WriteBoolean("ready", !stopping)));
        MapRead("/v2", context => Json(context, "metadata", w =>
        {
            w.WriteString("name", "segmenter");
            w.WriteString("version", typeof(SegmentationServer).Assembly.GetName().Version?.ToString(3) ?? "0");
            w.WriteStartArray("extensions");
            w.WriteStringValue("binary_tensor_data");
            w.WriteStringValue("segment");
            w.WriteEndArray();
        }));
        // Triton's repository index, so a client can find the model's name.
        app.MapPost("/v2/repository/index", async context =>
        {
            context.Items[EndpointKey] = "metadata";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new[] { new { name = model.Name, version = model.Version, state = stopping ? "UNAVAILABLE" : "READY" } }), context.RequestAborted);
        });
        foreach (var prefix in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            MapRead(prefix, (HttpContext context, string name, string? version) => Metadata(context, name, version));
            MapRead(prefix + "/ready", (HttpContext context, string name, string? version) =>
            {
                var found = Find(context, name, version, "health");
                return Ready(context, "health", w =>
                {
                    w.WriteString("name", found.Name);
                    w.WriteBoolean("ready", !stopping);
                });
            });
            app.MapPost(prefix + "/infer", (HttpContext context, string name, string? version) => Infer(context, name, version));
            app.MapPost(prefix + "/segment", (HttpContext context, string name, string? version) => Segment(context, name, version));
        }
        MapRead("/metrics", async context =>
        {
            context.Items[EndpointKey] = "metrics";
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await Metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        MapRead("/", context => Page(context, "index.html"));
        MapRead("/page/{file}", (HttpContext context, string file) => Page(context, file));
        app.MapFallback(context =>
        {
            var path = context.Request.Path.Value ?? "";
            // Another method on a model's infer or segment endpoint (POST on any other path is simply not found).
            if (path.StartsWith("/v2/models/", StringComparison.Ordinal) && !HttpMethods.IsPost(context.Request.Method)
                && (path.EndsWith("/infer", StringComparison.Ordinal) || path.EndsWith("/segment", StringComparison.Ordinal)))
            {
                throw new ProtocolException(405, "bad_request", $"{context.Request.Method} {path}: this endpoint takes POST");
            }
            throw ProtocolException.NotFound($"no endpoint {context.Request.Method} {path}: see GET /v2, /v2/models/{model.Name}, POST /v2/models/{model.Name}/infer");
        });
    }

    /// <summary>Methods a read-only endpoint answers: GET, and HEAD (the same answer without its body, for load balancers' checks).</summary>
    private static readonly string[] ReadMethods = { HttpMethods.Get, HttpMethods.Head };

    private void MapRead(string pattern, RequestDelegate handler) => app.MapMethods(pattern, ReadMethods, handler);

    private void MapRead(string pattern, Delegate handler) => app.MapMethods(pattern, ReadMethods, handler);

    /// <summary>Request ids, the request log, the metrics, and one error format for every failure (the protocol's <c>{"error": "…"}</c>).</summary>
    private async Task Observe(HttpContext context, Func<Task> next)
    {
        var clock = Stopwatch.StartNew();
        var id = RequestId(context);
        context.Response.Headers["X-Request-Id"] = id;
        string? error = null;
        try
        {
            await next();
        }
        catch (Exception e)
        {
            (int status, string kind, string message) = e switch
            {
                ProtocolException p => (p.Status, p.Kind, p.Message),
                BadHttpRequestException b when b.StatusCode == StatusCodes.Status413PayloadTooLarge =>
                    (413, "too_large", $"the request body is larger than the server's limit of {options.MaxBodyBytes:N0} bytes (--max-body-mb)"),
                BadHttpRequestException b => (b.StatusCode, "bad_request", $"the request could not be read: {b.Message}"),
                OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "cancelled", "the client closed the connection"),
                ModelFailedException m => (500, "model", m.Message),
                _ => (500, "internal", $"the server failed on this request: {e.Message}"),
            };
            error = message;
            if (kind != "overloaded") Metrics.Errors.WithLabels(kind).Inc();   // refusals are counted where they are made
            if (kind == "internal") requestLog.LogError(e, "request {RequestId} failed", id);
            if (status == 499) context.Response.StatusCode = 499;
            else if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.Headers["X-Request-Id"] = id;
                if (status == 503) context.Response.Headers.RetryAfter = "1";
                if (status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
                if (status == 405) context.Response.Headers.Allow = "POST";
                await WriteError(context, status, message);
            }
            else context.Abort();   // an answer half written cannot be turned into an error: end the connection
        }
        finally
        {
            var endpoint = context.Items[EndpointKey] as string ?? "other";
            var seconds = clock.Elapsed.TotalSeconds;
            Metrics.Requests.WithLabels(endpoint, context.Response.StatusCode.ToString(CultureInfo.InvariantCulture)).Inc();
            Metrics.RequestSeconds.WithLabels(endpoint).Observe(seconds);
            requestLog.LogInformation("{RequestId} {Method} {Path} {Status} {DurationMs} {Model} {BatchSize} {Error}",
                id, context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Math.Round(seconds * 1000, 2),
                context.Items[ModelKey] as string, context.Items[BatchKey] as int?, error);
        }
    }

    /// <summary>The client's X-Request-Id when it is a plain token, otherwise a new one.</summary>
    private static string RequestId(HttpContext context)
    {
        var given = context.Request.Headers["X-Request-Id"].ToString();
        if (given.Length is > 0 and <= 64 && given.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) return given;
        return Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
    }

    private Task Authorize(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path.Value ?? "";
        // Routing ignores case, so the open paths do too (/V2/HEALTH/live is the health check it routes to).
        bool open = path.StartsWith("/v2/health/", StringComparison.OrdinalIgnoreCase) || path == "/" || path.StartsWith("/page/", StringComparison.OrdinalIgnoreCase);
        if (apiKey is null || open) return next();
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            throw new ProtocolException(401, "unauthorized", "this server needs an API key: send the header 'Authorization: Bearer <key>'");
        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        if (!CryptographicOperations.FixedTimeEquals(given, apiKey))
            throw new ProtocolException(401, "unauthorized", "the API key is wrong");
        return next();
    }

    private ModelDescription Find(HttpContext context, string name, string? version, string endpoint)
    {
        context.Items[EndpointKey] = endpoint;
        if (!string.Equals(name, model.Name, StringComparison.Ordinal))
            throw ProtocolException.NotFound($"unknown model '{name}': this server serves '{model.Name}'");
        if (!model.HasVersion(version))
            throw ProtocolException.NotFound($"model '{name}' has no version '{version}': its version is {model.Version}");
        context.Items[ModelKey] = model.Name;
        return model;
    }

    private Task Metadata(HttpContext context, string name, string? version)
    {
        var found = Find(context, name, version, "metadata");
        return Json(context, "metadata", w =>
        {
            w.WriteString("name", found.Name);
            w.WriteStartArray("versions");
            w.WriteStringValue(found.Version);
            w.WriteEndArray();
            w.WriteString("platform", found.Platform);
            w.WriteStartArray("inputs");
            WriteTensor(w, found.Input);
            w.WriteEndArray();
            w.WriteStartArray("outputs");
            foreach (var output in found.Outputs) WriteTensor(w, output);
            w.WriteEndArray();
            // Not part of the protocol's metadata: what a client needs to prepare images and read labels.
            w.WriteStartObject("parameters");
            w.WriteString("model", found.Spec.Name);
            w.WriteNumber("classes", found.Classes);
            w.WriteStartArray("class_names");
            for (int c = 0; c < found.Classes; c++) w.WriteStringValue(found.Spec.ClassName(c));
            w.WriteEndArray();
            w.WriteStartArray("mean");
            foreach (var m in found.Spec.Normalization.Mean) w.WriteNumberValue(m);
            w.WriteEndArray();
            w.WriteStartArray("std");
            foreach (var s in found.Spec.Normalization.Std) w.WriteNumberValue(s);
            w.WriteEndArray();
            w.WriteNumber("window", segmenter?.Window ?? Math.Min(found.Spec.ImageHeight, found.Spec.ImageWidth));
            w.WriteNumber("max_batch_size", options.Batching.MaxBatch);
            w.WriteEndObject();
        });
    }

    private static void WriteTensor(Utf8JsonWriter w, TensorDescription tensor)
    {
        w.WriteStartObject();
        w.WriteString("name", tensor.Name);
        w.WriteString("datatype", tensor.Datatype);
        w.WriteStartArray("shape");
        foreach (var d in tensor.Shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private async Task Infer(HttpContext context, string name, string? version)
    {
        var found = Find(context, name, version, "infer");
        var (body, length) = await ReadBody(context);
        using var slot = AdmitOrReturn(body);
        InferenceRequest request;
        try
        {
            request = InferenceRequest.Parse(body.AsSpan(0, length), HeaderLength(context), found, options.Batching.MaxPixels, options.Batching.MaxBatch);
        }
        finally
        {
            BodyBuffers.Return(body);
        }
        using (request)
        {
            CheckAttentionFits(found, request.Images.shape, attentionBudget);
            var wanted = request.Outputs.Aggregate((Outputs)0, (all, o) => all | (o.Name == "logits" ? Outputs.Logits : Outputs.Labels));
            using var result = await batcher.RunAsync(request.Images, wanted, context.RequestAborted);
            context.Items[BatchKey] = result.BatchSize;
            await InferenceResponseWriter.WriteAsync(context.Response, found, request, result, context.RequestAborted);
        }
    }

    /// <summary>
    /// 413 for a request whose attention would not fit in memory: a ViT's attention scores grow with the square of its
    /// tokens (images × heads × tokens² floats), so a size within --max-pixels can still ask for tens of GB (a 2048×2048
    /// image to a patch-8 model: 34 GB for one layer's scores). <paramref name="budget"/>: <see cref="ServerOptions.MaxAttentionBytes"/>.
    /// </summary>
    private static void CheckAttentionFits(ModelDescription model, long[] shape, long budget)
    {
        var spec = model.Spec;
        long tokens = (shape[2] + spec.PatchSize - 1) / spec.PatchSize * ((shape[3] + spec.PatchSize - 1) / spec.PatchSize) + spec.ExtraTokens;
        double bytes = (double)shape[0] * spec.Backbone.Heads * tokens * tokens * sizeof(float);
        if (bytes > budget)
            throw ProtocolException.TooLarge($"a [{string.Join(", ", shape)}] request is {tokens:N0} tokens per image, whose attention needs about {bytes / (1 << 30):N2} GiB " +
                                             $"(images × {spec.Backbone.Heads} heads × tokens² floats), more than the {budget / (double)(1 << 30):N2} GiB a request may take " +
                                             "(half the server's memory); send a smaller image, fewer images at once, or the image to /segment, which runs it in windows");
    }

    private static int? HeaderLength(HttpContext context)
    {
        var text = context.Request.Headers[InferenceResponseWriter.HeaderLength].ToString();
        if (text.Length == 0) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            ? length
            : throw ProtocolException.BadRequest($"{InferenceResponseWriter.HeaderLength} must be a whole number of bytes, got '{text}'");
    }

    private async Task Segment(HttpContext context, string name, string? version)
    {
        var found = Find(context, name, version, "segment");
        if (segmenter is null) throw ProtocolException.BadRequest($"{found.Name} has {found.Classes} classes: label images hold at most 256; use /infer");
        var query = context.Request.Query;
        InferenceMode mode;
        try
        {
            mode = InferenceOptions.ParseMode(query["mode"].FirstOrDefault() ?? InferenceOptions.DefaultMode);
        }
        catch (ArgumentException e)
        {
            throw ProtocolException.BadRequest(e.Message);
        }
        bool overlay = Flag(query["overlay"].FirstOrDefault(), "overlay");
        var format = query["format"].FirstOrDefault() ?? "png";
        if (format is not ("png" or "json")) throw ProtocolException.BadRequest($"format={format}: use png (the label or overlay image) or json (classes, shares and both images)");

        byte[] image;
        if (context.Request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
        {
            image = await Readable(context, async () =>
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted);
                var file = form.Files.FirstOrDefault() ?? throw ProtocolException.BadRequest("the form holds no file: send the image as a file field, or as the raw body");
                using var stream = new MemoryStream();
                await file.CopyToAsync(stream, context.RequestAborted);
                return stream.ToArray();
            });
        }
        else
        {
            var (body, length) = await ReadBody(context);
            image = body.AsSpan(0, length).ToArray();
            BodyBuffers.Return(body);
        }
        if (image.Length == 0) throw ProtocolException.BadRequest("the request holds no image: send a PNG or JPEG file as the body");
        using var slot = Admit();

        // The segmentation blocks on the batcher for each group of windows: a thread of its own, not one of the pool's. The
        // images it answers with are made there too, so that only the encoded bytes outlive the image work's slot.
        var aborted = context.RequestAborted;
        await imageWork.WaitAsync(aborted);
        (int Width, int Height, IReadOnlyList<ClassShare> Classes, byte[] LabelPng, byte[] OverlayPng) answer;
        try
        {
            answer = await Task.Factory.StartNew(() =>
            {
                var result = segmenter.Segment(image, mode, aborted);
                return (result.Image.Width, result.Image.Height, result.Classes, overlay && format == "png" ? Array.Empty<byte>() : result.LabelPng(),
                    format == "json" ? result.OverlayPng(legend: false) : overlay ? result.OverlayPng() : Array.Empty<byte>());
            }, aborted, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            imageWork.Release();
        }
        context.Items[BatchKey] = 1;
        if (format == "png")
        {
            context.Response.ContentType = "image/png";
            await context.Response.Body.WriteAsync(overlay ? answer.OverlayPng : answer.LabelPng, aborted);
            return;
        }
        await Json(context, "segment", w =>
        {
            w.WriteString("model_name", found.Name);
            w.WriteNumber("width", answer.Width);
            w.WriteNumber("height", answer.Height);
            w.WriteString("mode", mode.ToString().ToLowerInvariant());
            w.WriteStartArray("classes");
            foreach (var c in answer.Classes)
            {
                w.WriteStartObject();
                w.WriteNumber("index", c.Index);
                w.WriteString("name", c.Name);
                w.WriteString("color", $"#{c.Color.R:x2}{c.Color.G:x2}{c.Color.B:x2}");
                w.WriteNumber("pixels", c.Pixels);
                w.WriteNumber("share", Math.Round(c.Share, 6));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBase64String("labels_png", answer.LabelPng);
            w.WriteBase64String("overlay_png", answer.OverlayPng);
        });
    }

    private static bool Flag(string? value, string name) => value?.ToLowerInvariant() switch
    {
        null or "" or "0" or "false" => false,
        "1" or "true" => true,
        _ => throw ProtocolException.BadRequest($"{name}={value}: use 1 or 0"),
    };

    /// <summary>
    /// A place in the bounded queue, or 503 with Retry-After at once; taken once the request's body has arrived: a client that sends its body slowly holds a
    /// connection, never a place that others need (a dozen such uploads would otherwise refuse everyone 503).
    /// </summary>
    private IDisposable Admit() => batcher.TryAdmit() ?? throw Overloaded();

    /// <summary><see cref="Admit"/>; a refused request's body buffer is returned.</summary>
    private IDisposable AdmitOrReturn(byte[] body)
    {
        var slot = batcher.TryAdmit();
        if (slot is not null) return slot;
        BodyBuffers.Return(body);
        throw Overloaded();
    }

    private ProtocolException Overloaded()
    {
        Metrics.Errors.WithLabels("overloaded").Inc();
        return new ProtocolException(503, "overloaded", $"the server is busy: {options.Batching.MaxQueue} requests are already in its queue (--max-queue); retry after a moment");
    }

    /// <summary>Runs <paramref name="read"/>, which reads the request; what the client's malformed bytes make it throw is a 400.</summary>
    private static async Task<T> Readable<T>(HttpContext context, Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception e) when (e is not (ProtocolException or BadHttpRequestException or OperationCanceledException) && !context.RequestAborted.IsCancellationRequested)
        {
            throw ProtocolException.BadRequest($"the request body could not be read: {e.Message}");
        }
    }

    /// <summary>
    /// The body in a buffer from <see cref="BodyBuffers"/> (return it): 413 when it is larger than the limit, before reading
    /// it when its length is declared. The buffer grows as the bytes arrive, so memory follows what a client has sent, not
    /// what it announced.
    /// </summary>
    private Task<(byte[] Buffer, int Length)> ReadBody(HttpContext context) => Readable(context, async () =>
    {
        long limit = options.MaxBodyBytes;
        long? declared = context.Request.ContentLength;
        if (declared > limit) throw ProtocolException.TooLarge($"the request body is {declared:N0} bytes, more than the server's limit of {limit:N0} (--max-body-mb)");
        long most = declared ?? limit + 1;   // without a declared length, one byte past the limit tells a body too large
        var buffer = BodyBuffers.Rent((int)Math.Clamp(most, 1, 1 << 16));
        int length = 0;
        try
        {
            while (length < most)
            {
                if (length == buffer.Length)
                {
                    var larger = BodyBuffers.Rent((int)Math.Min(most, (long)buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    BodyBuffers.Return(buffer);
                    buffer = larger;
                }
                int n = await context.Request.Body.ReadAsync(buffer.AsMemory(length, (int)Math.Min(buffer.Length, most) - length), context.RequestAborted);
                if (n == 0) break;
                length += n;
            }
            if (length > limit) throw ProtocolException.TooLarge($"the request body is more than the server's limit of {limit:N0} bytes (--max-body-mb)");
            if (declared is { } announced && length < announced)
                throw ProtocolException.BadRequest($"the request body ended after {length:N0} of the {announced:N0} bytes its Content-Length announced");
            return (buffer, length);
        }
        catch
        {
            BodyBuffers.Return(buffer);
            throw;
        }
    });

    /// <summary>JSON as people read it: quotes and non-ASCII letters as they are (the responses are JSON, never HTML).</summary>
    internal static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static async Task Json(HttpContext context, string endpoint, Action<Utf8JsonWriter> write)
    {
        context.Items[EndpointKey] ??= endpoint;
        context.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private Task Ready(HttpContext context, string endpoint, Action<Utf8JsonWriter> write)
    {
        if (stopping) context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return Json(context, endpoint, write);
    }

    private static Task WriteError(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return Json(context, "error", w => w.WriteString("error", message));
    }

    private async Task Page(HttpContext context, string file)
    {
        context.Items[EndpointKey] = "page";
        var (resource, type) = file switch
        {
            "index.html" => ("index.html", "text/html; charset=utf-8"),
            "app.js" => ("app.js", "text/javascript; charset=utf-8"),
            "app.css" => ("app.css", "text/css; charset=utf-8"),
            _ => throw ProtocolException.NotFound($"no page file '{file}'"),
        };
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Segmenter.Serving.Page." + resource)
                           ?? throw new InvalidOperationException($"the page file {resource} is missing from the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (resource == "index.html") text = text.Replace("{{model}}", WebUtility.HtmlEncode(model.Name), StringComparison.Ordinal);
        context.Response.ContentType = type;
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.WriteAsync(text, context.RequestAborted);
    }
}

/// <summary>
/// Buffers for request bodies: small ones from the shared pool; large ones (past 1 MiB) allocated for the request and left
/// to the garbage collector, so that a burst of large uploads does not stay in the pool's keeping after the load.
/// </summary>
internal static class BodyBuffers
{
    private const int Pooled = 1 << 20;

    public static byte[] Rent(int length) => length <= Pooled ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= Pooled) ArrayPool<byte>.Shared.Return(buffer);
    }
}
