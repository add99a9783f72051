using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using Segmenter.Export;
using Segmenter.Serving;
using Segmenter.Serving.Batching;
using Google.Protobuf;
using Segmenter.Spec;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter serve &lt;model|model.onnx&gt; [--checkpoint F] [--engine onnx|torch] [--host H] [--port P] [--max-batch N]
/// [--max-delay-ms D] [--max-queue Q] [--max-pixels N] [--max-image-pixels N] [--max-body-mb M] [--api-key K] [--threads T] [--instances N] [--labels-from-logits] [--provider cpu|cuda[:N]|tensorrt[:N]]</c>:
/// the Open Inference Protocol (KServe v2) over HTTP, an image endpoint and a page, until SIGTERM or Ctrl+C.
/// </summary>
internal static class ServeCommand
{
    /// <summary>The environment variable the API key may come from instead of the command line (which other users can read).</summary>
    public const string ApiKeyVariable = "SEGMENTER_API_KEY";

    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        model.Model.Description = "A zoo model, path/to/file.seg[:Model], a reference variant.yml, or an exported model.onnx.";
        var engine = new Option<string>("--engine") { Description = "onnx (ONNX Runtime; a model is exported in memory first) or torch (TorchSharp). An .onnx file always runs in ONNX Runtime.", DefaultValueFactory = _ => "onnx" };
        var name = new Option<string?>("--name") { Description = "The model's name in URLs (default: as export --triton names it, the model's name in lower case)." };
        var host = new Option<string>("--host") { Description = "The address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 or :: (every interface; give --api-key).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "The port (0: any free one).", DefaultValueFactory = _ => 8080 };
        var maxBatch = new Option<int?>("--max-batch")
        {
            Description = "The most images in one run of the model (requests of equal size are batched). Default: 1 with several instances on the CPU " +
                          "(a batch is no faster per image on one thread), else 8.",
        };
        var maxDelay = new Option<double>("--max-delay-ms") { Description = "How long a request may wait for others of its size to join its batch.", DefaultValueFactory = _ => 5 };
        var maxQueue = new Option<int>("--max-queue") { Description = "The most requests held at once; past it the server answers 503 with Retry-After at once.", DefaultValueFactory = _ => 16 };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "The most pixels per request (batch × height × width); an uploaded image with more is run with its short side at the training size and labelled at its own size.",
            DefaultValueFactory = _ => 4L * 1024 * 1024,
        };
        var maxImagePixels = new Option<long>("--max-image-pixels") { Description = "The largest image the image endpoint decodes; larger ones are answered 400.", DefaultValueFactory = _ => new ServerOptions().MaxImagePixels };
        var maxBody = new Option<double>("--max-body-mb") { Description = "The largest request body in MiB; larger ones are answered 413.", DefaultValueFactory = _ => 64 };
        var apiKey = new Option<string?>("--api-key") { Description = $"Require 'Authorization: Bearer KEY' on every call but the health checks and the page (or set {ApiKeyVariable})." };
        var threads = new Option<int>("--threads") { Description = "CPU threads for the model, shared out among its instances.", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1, "at least 1 thread");
        var instances = new Option<int?>("--instances")
        {
            Description = "Copies of the ONNX Runtime session that run batches side by side, each on --threads ÷ N threads (as Triton's instance_group count). " +
                          "More instances raise throughput under concurrent load (a single-threaded run wastes less time waiting on other threads); fewer keep one request's latency low. " +
                          $"Default: one per thread, up to {MaxDefaultInstances}, for ONNX Runtime on the CPU; else 1.",
        };
        var warmup = new Option<string?>("--warmup") { Description = "Run a full batch of HxW images before listening, so memory is taken at the start (default: the model's size; none to skip)." };
        var modelPriority = new Option<string>("--model-priority")
        {
            Description = "How the model's threads yield to the request threads: idle (Linux SCHED_IDLE for its worker threads: refusals and health checks are answered at once " +
                          "even at full load, but clients that retry at once with whole bodies, or other busy processes, leave the model little), low (nice +5) or normal.",
            DefaultValueFactory = _ => "idle",
        };
        var labelsFromLogits = new Option<bool>("--labels-from-logits")
        {
            Description = "Take the labels of label-only requests as the argmax of the full-size logits. By default ONNX Runtime on the CPU runs an export of this project " +
                          "up to its class maps at patch resolution and takes the argmax of their upsampling directly: the same labels, without making the K maps at full size.",
        };
        var logFormat = new Option<string>("--log-format") { Description = "Request logs on standard output: json (one object per line), text or none.", DefaultValueFactory = _ => "json" };
        var onnx = new OnnxRuntimeOptions();
        var precision = new PrecisionOption();
        var command = new Command("serve", "Serve a model over HTTP: the Open Inference Protocol (KServe v2, as Triton), an image endpoint and a page, Prometheus metrics.")
        {
            engine, name, host, port, maxBatch, maxDelay, maxQueue, maxPixels, maxImagePixels, maxBody, apiKey, threads, instances, warmup, modelPriority, labelsFromLogits, logFormat,
        };
        model.AddTo(command);
        onnx.AddTo(command, withFile: false);
        precision.AddTo(command);
        command.SetAction(result =>
        {
            var priority = ParsePriority(result.GetValue(modelPriority)!);
            var engineName = result.GetValue(engine)!.Trim().ToLowerInvariant();
            int threadCount = result.GetValue(threads);
            bool onCpu = engineName == "onnx" && result.GetValue(onnx.Provider)!.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase);
            int instanceCount = result.GetValue(instances) ?? (onCpu ? Math.Min(threadCount, MaxDefaultInstances) : 1);
            if (instanceCount is < 1 or > 64) throw new ArgumentException($"--instances {instanceCount}: give 1 to 64");
            int batch = result.GetValue(maxBatch) ?? (onCpu && instanceCount > 1 ? 1 : 8);
            var options = new ServerOptions
            {
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                Batching = new BatchingOptions(batch, TimeSpan.FromMilliseconds(result.GetValue(maxDelay)), result.GetValue(maxQueue), result.GetValue(maxPixels))
                {
                    ModelThreads = priority,
                },
                MaxBodyBytes = (long)(result.GetValue(maxBody) * 1024 * 1024),
                MaxImagePixels = result.GetValue(maxImagePixels),
                ApiKey = result.GetValue(apiKey) ?? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)),
                LogFormat = result.GetValue(logFormat)!.Trim().ToLowerInvariant(),
            };
            options.Validate();
            int perInstance = Math.Max(1, threadCount / instanceCount);
            // Made on a thread of lower priority, so ONNX Runtime's worker threads inherit it (see ModelPriority).
            var (served, spec) = ModelPriority.Create(priority,
                () => OpenEngines(result, console, model, onnx, precision, engineName, threadCount, instanceCount, perInstance,
                    splitAtUpsampling: !result.GetValue(labelsFromLogits)));
            var description = new ModelDescription(result.GetValue(name) ?? TritonRepository.SuggestName(spec.Name), spec, served[0]);
            var warmupText = result.GetValue(warmup);
            options = options with
            {
                Warmup = warmupText?.Trim().ToLowerInvariant() == "none" ? null
                    : warmupText is null ? (spec.ImageHeight, spec.ImageWidth) : Format.ParseSize(warmupText, "--warmup"),
            };
            var server = SegmentationServer.Create(description, served, options);
            try
            {
                server.StartAsync().GetAwaiter().GetResult();
                var address = server.Address;
                console.Err.WriteLine($"serving {description.Name} ({spec.Name}, {description.Platform}) at {address}");
                console.Err.WriteLine($"  page: {address}   protocol: {address}v2/models/{description.Name}   metrics: {address}metrics");
                if (served[0].CanRunLabels) console.Err.WriteLine("  label-only requests: the argmax of the upsampled class maps, without full-size logits (--labels-from-logits to change)");
                if (served.Count > 1) console.Err.WriteLine($"  {served.Count} instances side by side, {perInstance} thread{(perInstance == 1 ? "" : "s")} each");
                console.Err.WriteLine($"  batches of up to {options.Batching.MaxBatch} image{(options.Batching.MaxBatch == 1 ? "" : "s")} within {options.Batching.MaxDelay.TotalMilliseconds:0.#} ms; " +
                                      $"{options.Batching.MaxQueue} requests at most, then 503; bodies up to {options.MaxBodyBytes / 1048576.0:0.#} MiB; SIGTERM or Ctrl+C stops after answering the requests in flight");
                if (options.ApiKey is null && !IsLoopback(options.Host))
                    console.Warning($"listening on {options.Host} without an API key: anyone who reaches this port can use the model; give --api-key (or {ApiKeyVariable})");
                server.WaitForShutdownAsync().GetAwaiter().GetResult();
                console.Err.WriteLine("stopping: answering the requests in flight …");
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            console.Err.WriteLine("stopped");
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The most instances `serve` opens by itself: one single-threaded session per core measured best on 2 cores (see
    /// docs/deployment.md); past 4, each further copy of the weights buys less than it costs in memory.
    /// </summary>
    private const int MaxDefaultInstances = 4;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static bool IsLoopback(string host) => host.Trim().ToLowerInvariant() == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static ModelThreadPriority ParsePriority(string text) => text.Trim().ToLowerInvariant() switch
    {
        "idle" => ModelThreadPriority.Idle,
        "low" => ModelThreadPriority.Low,
        "normal" => ModelThreadPriority.Normal,
        _ => throw new ArgumentException($"--model-priority {text}: use idle, low or normal"),
    };

    /// <summary>
    /// The engines: instances of an .onnx file's session, or of a model exported in memory to ONNX Runtime, sharing their
    /// packed weights; or the model in TorchSharp (one instance: libtorch's thread pool is the process's).
    /// </summary>
    private static (IReadOnlyList<IInferenceEngine> Engines, SegmenterSpec Spec) OpenEngines(ParseResult result, CliConsole console, ModelOptions model, OnnxRuntimeOptions onnx,
        PrecisionOption precision, string engine, int threads, int instances, int sessionThreads, bool splitAtUpsampling)
    {
        if (engine is not ("onnx" or "torch")) throw new ArgumentException($"--engine {engine}: use onnx or torch");
        TorchSharp.torch.set_num_threads(threads);   // TorchSharp's engine, and the tensor work around ONNX Runtime's
        var reference = result.GetValue(model.Model)!;
        if (reference.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (engine == "torch") throw new ArgumentException($"{reference} is an ONNX file, which runs in ONNX Runtime: give a model (zoo name, .seg or variant.yml) for --engine torch");
            if (result.GetValue(model.Checkpoint) is not null) throw new ArgumentException("an ONNX file holds its weights: leave out --checkpoint");
            if (result.GetValue(precision.Option) != "float32") throw new ArgumentException("--precision applies to --engine torch; ONNX Runtime runs the exported float32 graph");
            var (sessions, spec) = onnx.OpenFileReplicas(reference, result, console, sessionThreads, instances, splitAtUpsampling);
            return (sessions.Select(s => (IInferenceEngine)new OnnxEngine(s)).ToList(), spec);
        }
        if (engine == "torch" && instances > 1)
            throw new ArgumentException($"--instances {instances} runs copies of an ONNX Runtime session; --engine torch runs one model on all --threads (libtorch's thread pool is the process's): leave out --instances, or use --engine onnx");
        var (network, device) = model.Build(result, console);
        try
        {
            network.eval();
            if (engine == "torch")
            {
                onnx.RefuseWithoutFile(result, "use --engine onnx");
                precision.Apply(result, console, network);
                return (new IInferenceEngine[] { new TorchEngine(network, device) }, network.Specification);
            }
            if (result.GetValue(precision.Option) != "float32") throw new ArgumentException("--precision applies to --engine torch; ONNX Runtime runs the exported float32 graph");
            var exported = OnnxExporter.Export(network, new OnnxExportOptions { Labels = false });   // the server takes the argmax itself (Argmax: vectorised, multi-threaded)
            var sessions = OnnxSession.Replicas(exported.ToByteArray(), onnx.Session(result, console) with { Threads = sessionThreads, SplitAtUpsampling = splitAtUpsampling }, instances);
            var spec = network.Specification;
            network.Dispose();
            console.Err.WriteLine($"{spec.Name}: exported to ONNX in memory, running in ONNX Runtime ({sessions[0].Provider})");
            return (sessions.Select(s => (IInferenceEngine)new OnnxEngine(s)).ToList(), spec);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }
}
