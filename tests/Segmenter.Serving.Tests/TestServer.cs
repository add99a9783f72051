using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Segmenter.Export;
using Segmenter.Runtime;
using Segmenter.Serving;
using Segmenter.Serving.Batching;
using static TorchSharp.torch;

namespace Segmenter.Tests;

/// <summary>A server on a free port of this machine, and a client for it.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(SegmentationServer server, ModelDescription model, List<string> log)
    {
        Server = server;
        Model = model;
        Log = log;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public SegmentationServer Server { get; }

    public ModelDescription Model { get; }

    public HttpClient Http { get; }

    /// <summary>The request log's lines.</summary>
    public List<string> Log { get; }

    public string Name => Model.Name;

    /// <summary>A server for a tiny test model exported to ONNX (weights seeded), with the given options.</summary>
    public static Task<TestServer> StartOnnx(string modelName = "TinyLinear", ServerOptions? options = null, bool labels = false)
    {
        manual_seed(7);
        using var model = (SegmenterModel)TestModels.Get(modelName).Create(null);
        model.eval();
        var bytes = OnnxExporter.Export(model, new OnnxExportOptions { Labels = labels }).ToByteArray();
        // Cut at the upsampling, as `segmenter serve` opens it: label-only requests never make the logits.
        var engine = new OnnxEngine(new OnnxSession(bytes, new OnnxSessionOptions { Threads = 1, SplitAtUpsampling = true }));
        return Start(new ModelDescription(modelName.ToLowerInvariant(), model.Specification, engine), engine, options);
    }

    /// <summary>A server over any engine (fakes that count, fail or wait).</summary>
    public static async Task<TestServer> Start(ModelDescription model, IInferenceEngine engine, ServerOptions? options = null)
    {
        var log = new List<string>();
        var server = SegmentationServer.Create(model, engine, (options ?? new ServerOptions()) with { Port = 0 },
            logging => logging.AddProvider(new ListLogger(log)));
        await server.StartAsync();
        return new TestServer(server, model, log);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    private sealed class ListLogger : ILoggerProvider, ILogger
    {
        private readonly List<string> lines;

        public ListLogger(List<string> lines) => this.lines = lines;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines) lines.Add(formatter(state, exception));
        }

        public void Dispose() { }
    }
}

/// <summary>An engine whose logits are a function of the input, that records its batches and can wait or fail.</summary>
internal sealed class FakeEngine : IInferenceEngine
{
    private readonly object gate = new();

    public FakeEngine(int classes = 3) => Classes = classes;

    /// <summary>The images of each run.</summary>
    public List<int> Batches { get; } = new();

    /// <summary>Whether each run's thread ran under Linux's SCHED_IDLE.</summary>
    public List<bool> IdlePolicy { get; } = new();

    /// <summary>The image height of each run.</summary>
    public List<long> Heights { get; } = new();

    /// <summary>How long each run takes.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Runs wait for this before they start (a test holds the model busy with it).</summary>
    public TaskCompletionSource Gate { get; set; } = CompletedGate();

    /// <summary>When set, each run waits here (at most 20 s, else it fails) until as many runs as the barrier counts meet: a test proves runs overlap with it.</summary>
    public Barrier? Meet { get; set; }

    public string Platform => "fake";

    public int Classes { get; }

    public (int Height, int Width)? StaticSize => null;

    public bool CanRunInto => false;

    /// <summary>Whether label-only requests come through <see cref="RunLabelsInto"/> (as to a session cut at its upsampling).</summary>
    public bool DirectLabels { get; init; }

    /// <summary>The runs through <see cref="RunLabelsInto"/>.</summary>
    public int LabelRuns => Volatile.Read(ref labelRuns);

    private int labelRuns;

    public bool CanRunLabels => DirectLabels;

    public void RunLabelsInto(Tensor images, Tensor labels, int threads)
    {
        if (!DirectLabels) throw new InvalidOperationException("this fake makes labels from its logits only");
        Interlocked.Increment(ref labelRuns);
        using var logits = Run(images);
        using var argmax = logits.argmax(1);
        labels.copy_(argmax);
    }

    /// <summary>The runs that have begun (counted before they wait for <see cref="Gate"/>).</summary>
    public int Started => Volatile.Read(ref started);

    private int started;

    public Tensor Run(Tensor images)
    {
        Interlocked.Increment(ref started);
        Gate.Task.Wait();
        lock (gate)
        {
            Batches.Add((int)images.shape[0]);
            Heights.Add(images.shape[2]);
            IdlePolicy.Add(ModelPriority.CurrentThreadIsIdlePolicy());
        }
        if (Delay > TimeSpan.Zero) System.Threading.Thread.Sleep(Delay);
        if (Meet is not null && !Meet.SignalAndWait(TimeSpan.FromSeconds(20))) throw new TimeoutException("no other run met this one within 20 s");
        using var first = images.narrow(1, 0, 1);
        // A request whose first channel holds 42 anywhere breaks the model.
        if (first.eq(Scalars.Of(42L)).any().item<bool>()) throw new InvalidOperationException("the fake model cannot take 42");
        // Class k's logit: k × the first channel, so the label is the last class where it is positive, class 0 elsewhere.
        var scale = arange(Scalars.Of((long)Classes), dtype: float32).reshape(1, Classes, 1, 1);
        return (first * scale).contiguous();
    }

    public void RunInto(Tensor images, Tensor logits)
    {
        using var result = Run(images);
        logits.copy_(result);
    }

    public void Dispose() { }

    private static TaskCompletionSource CompletedGate()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    /// <summary>A model description for this engine (a tiny spec's classes and normalisation).</summary>
    public ModelDescription Describe(string name = "fake") => new(name, TestModels.Get("TinyLinear").Spec with { NumClasses = Classes }, this);
}
