using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using Segmenter.Runtime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using static TorchSharp.torch;

namespace Segmenter.Export;

/// <summary>
/// Runs an exported model with ONNX Runtime. Inputs and outputs are TorchSharp tensors on the CPU;
/// ONNX Runtime reads the input's memory and writes straight into the output tensor (no copies).
/// </summary>
public sealed class OnnxSession : IDisposable
{
    private static readonly string[] InputNames = { "image" };
    private static readonly string[] LogitsOnly = { "logits" };
    private static readonly string[] LogitsAndLabels = { "logits", "labels" };

    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly bool hasLabels;
    private SharedWeights? shared;

    /// <summary>Opens <paramref name="path"/>; a clear error if the provider is not available in this build or on this host.</summary>
    public OnnxSession(string path, OnnxSessionOptions? options = null)
        : this(path, (sessionOptions, _) => new InferenceSession(path, sessionOptions), options, mustExist: true, shared: null)
    {
    }

    /// <summary>Opens a model held in memory (e.g. <c>proto.ToByteArray()</c>, to check an export before writing it anywhere).</summary>
    public OnnxSession(byte[] model, OnnxSessionOptions? options = null)
        : this("the exported model", (sessionOptions, _) => new InferenceSession(model, sessionOptions), options, mustExist: false, shared: null)
    {
    }

    /// <summary>
    /// <paramref name="count"/> sessions of the file at <paramref name="path"/>, to run side by side on threads of their own
    /// (as Triton's instance groups do). They share the weights ONNX Runtime pre-packs for its kernels: the int8 products
    /// pack theirs, so a second replica of Seg-B/16 int8 costs 43 MB rather than 118 MB; float32 products read the weights
    /// as stored, which each replica holds (about the size of the file).
    /// </summary>
    public static IReadOnlyList<OnnxSession> Replicas(string path, OnnxSessionOptions options, int count) =>
        OpenReplicas(count, shared => new OnnxSession(path, (sessionOptions, container) => container is null
            ? new InferenceSession(path, sessionOptions)
            : new InferenceSession(path, sessionOptions, container), options, mustExist: true, shared));

    /// <summary><paramref name="count"/> sessions of a model held in memory, sharing their packed weights (see <see cref="Replicas(string, OnnxSessionOptions, int)"/>).</summary>
    public static IReadOnlyList<OnnxSession> Replicas(byte[] model, OnnxSessionOptions options, int count) =>
        OpenReplicas(count, shared => new OnnxSession("the exported model", (sessionOptions, container) => container is null
            ? new InferenceSession(model, sessionOptions)
            : new InferenceSession(model, sessionOptions, container), options, mustExist: false, shared));

    private static IReadOnlyList<OnnxSession> OpenReplicas(int count, Func<SharedWeights?, OnnxSession> open)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "give at least one session");
        var shared = count > 1 ? new SharedWeights() : null;
        var sessions = new List<OnnxSession>();
        try
        {
            for (int i = 0; i < count; i++) sessions.Add(open(shared));
            return sessions;
        }
        catch
        {
            foreach (var session in sessions) session.Dispose();
            if (sessions.Count == 0) shared?.Container.Dispose();
            throw;
        }
    }

    private OnnxSession(string name, Func<SessionOptions, PrePackedWeightsContainer?, InferenceSession> open, OnnxSessionOptions? options, bool mustExist, SharedWeights? shared)
    {
        options ??= new OnnxSessionOptions();
        if (mustExist && !System.IO.File.Exists(name)) throw new System.IO.FileNotFoundException($"ONNX file '{name}' does not exist", name);
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = options.Optimization,
            IntraOpNumThreads = options.Threads,
            InterOpNumThreads = 1,
        };
        AddProvider(sessionOptions, options);
        try
        {
            session = open(sessionOptions, shared?.Container);
        }
        catch (OnnxRuntimeException e)
        {
            throw new System.IO.InvalidDataException($"{name}: ONNX Runtime cannot load it: {e.Message}", e);
        }
        if (!session.InputMetadata.ContainsKey("image") || !session.OutputMetadata.ContainsKey("logits"))
        {
            var message = $"{name}: not a Segmenter export (expected an input 'image' and an output 'logits'; it has inputs {string.Join(", ", session.InputMetadata.Keys)} " +
                          $"and outputs {string.Join(", ", session.OutputMetadata.Keys)})";
            session.Dispose();
            throw new System.IO.InvalidDataException(message);
        }
        this.shared = shared?.Join();
        hasLabels = session.OutputMetadata.ContainsKey("labels");
        var dims = session.InputMetadata["image"].Dimensions;
        if (dims.Length == 4 && dims[2] > 0 && dims[3] > 0) StaticSize = (dims[2], dims[3]);
        Name = name;
        Provider = options.DeviceId == 0 || options.Provider.Trim().ToLowerInvariant() == "cpu" ? options.Provider : $"{options.Provider}:{options.DeviceId}";
        Metadata = session.ModelMetadata.CustomMetadataMap;
        Classes = session.OutputMetadata["logits"].Dimensions[1];
    }

    /// <summary>The fixed input size (height, width) of an export made with --static; null for dynamic sizes.</summary>
    public (int Height, int Width)? StaticSize { get; }

    /// <summary>The file (or "the exported model"), for messages.</summary>
    private string Name { get; }

    /// <summary>The execution provider asked for (cpu, cuda:N, tensorrt:N).</summary>
    public string Provider { get; }

    /// <summary>The model's metadata (see <see cref="OnnxMetadata"/>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The number of classes K.</summary>
    public int Classes { get; }

    /// <summary>Logits [B, K, H, W] for normalised images [B, 3, H, W] (float32, CPU).</summary>
    public Tensor Run(Tensor images)
    {
        var logits = NewLogits(images);
        Execute(images, logits, labels: null);
        return logits;
    }

    /// <summary>Logits, and the labels output [B, H, W] when the file has one (exported with labels).</summary>
    public (Tensor Logits, Tensor? Labels) RunWithLabels(Tensor images)
    {
        var logits = NewLogits(images);
        return (logits, RunInto(images, logits));
    }

    /// <summary>
    /// Runs into <paramref name="logits"/>, a contiguous float32 CPU tensor [B, K, H, W] the caller keeps —
    /// a serving loop reuses it, sparing the allocation (and first-touch page faults) of a large output per call.
    /// Returns the labels output when the file has one.
    /// </summary>
    public Tensor? RunInto(Tensor images, Tensor logits)
    {
        CheckOutput(images, logits);
        if (!hasLabels)
        {
            Execute(images, logits, labels: null);
            return null;
        }
        var labels = empty(new[] { images.shape[0], images.shape[2], images.shape[3] }, LabelsOutput.IsByte(Classes) ? ScalarType.Byte : ScalarType.Int64);
        try
        {
            Execute(images, logits, labels);
            return labels;
        }
        catch
        {
            labels.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs into <paramref name="logits"/> as <see cref="RunInto"/>, asking ONNX Runtime for the logits alone: a labels
    /// output the file may have is not fetched (for a caller that takes the argmax itself, as the server does).
    /// </summary>
    public void RunLogitsInto(Tensor images, Tensor logits)
    {
        CheckOutput(images, logits);
        Execute(images, logits, labels: null);
    }

    private void CheckOutput(Tensor images, Tensor logits)
    {
        SegmenterModel.CheckImages(images);
        CheckSize(images);
        var expected = new[] { images.shape[0], Classes, images.shape[2], images.shape[3] };
        if (!logits.shape.SequenceEqual(expected) || logits.dtype != ScalarType.Float32 || !logits.is_contiguous() || logits.device.type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"the output must be a contiguous float32 CPU tensor [{string.Join(", ", expected)}], got {logits.dtype} [{string.Join(", ", logits.shape)}]", nameof(logits));
    }

    private Tensor NewLogits(Tensor images)
    {
        SegmenterModel.CheckImages(images);
        CheckSize(images);
        return empty(images.shape[0], Classes, images.shape[2], images.shape[3]);
    }

    /// <summary>A fixed-size export takes only its size: say so rather than let ONNX Runtime fail inside the run.</summary>
    private void CheckSize(Tensor images)
    {
        if (StaticSize is { } size && (images.shape[2] != size.Height || images.shape[3] != size.Width))
            throw new ArgumentException($"{Name} was exported for {size.Height}×{size.Width} images only (--static), got {images.shape[2]}×{images.shape[3]}; " +
                                        $"use sliding windows of that size (--mode slide --window {size.Height}) for a square size, or a dynamic export");
    }

    /// <summary>One run: the input as contiguous float32 on the CPU (a view when it already is), outputs written in place.</summary>
    private void Execute(Tensor images, Tensor logits, Tensor? labels)
    {
        using var scope = NewDisposeScope();   // the converted input, if a conversion was needed
        var input = images.to(float32).cpu().contiguous();
        using var inputValue = Wrap(input, TensorElementType.Float);
        using var outputValue = Wrap(logits, TensorElementType.Float);
        using var labelValue = labels is null ? null : Wrap(labels, LabelsOutput.IsByte(Classes) ? TensorElementType.UInt8 : TensorElementType.Int64);
        try
        {
            if (labelValue is null)
                session.Run(runOptions, InputNames, new[] { inputValue }, LogitsOnly, new[] { outputValue });
            else
                session.Run(runOptions, InputNames, new[] { inputValue }, LogitsAndLabels, new[] { outputValue, labelValue });
        }
        catch (OnnxRuntimeException e)
        {
            // For example an input outside a TensorRT profile, or a provider that fails on this host.
            throw new InvalidOperationException($"{Name}: ONNX Runtime could not run [{string.Join(", ", images.shape)}]: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
        Interlocked.Exchange(ref shared, null)?.Leave();
    }

    /// <summary>The packed weights of replicas, released when the last of them is disposed.</summary>
    private sealed class SharedWeights
    {
        private int users;

        public PrePackedWeightsContainer Container { get; } = new();

        public SharedWeights Join()
        {
            Interlocked.Increment(ref users);
            return this;
        }

        public void Leave()
        {
            if (Interlocked.Decrement(ref users) == 0) Container.Dispose();
        }
    }

    /// <summary>An OrtValue over a contiguous CPU tensor's own memory (the tensor must outlive it).</summary>
    private static OrtValue Wrap(Tensor tensor, TensorElementType type) =>
        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, tensor.shape, TensorMemory.Address(tensor), tensor.numel() * tensor.element_size());

    private static void AddProvider(SessionOptions sessionOptions, OnnxSessionOptions options)
    {
        var provider = options.Provider.Trim().ToLowerInvariant();
        try
        {
            switch (provider)
            {
                case "cpu":
                    return;
                case "cuda":
                    sessionOptions.AppendExecutionProvider_CUDA(options.DeviceId);
                    return;
                case "tensorrt":
                    using (var tensorRt = new OrtTensorRTProviderOptions())
                    {
                        tensorRt.UpdateOptions(TensorRtProviderOptions(options));
                        sessionOptions.AppendExecutionProvider_Tensorrt(tensorRt);   // the options are copied
                    }
                    sessionOptions.AppendExecutionProvider_CUDA(options.DeviceId);   // what TensorRT cannot run
                    return;
                default:
                    throw new ArgumentException($"unknown execution provider '{options.Provider}': use cpu, cuda or tensorrt");
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            var needs = provider == "tensorrt" ? "TensorRT 10 and CUDA 12 with cuDNN 9" : "CUDA 12 and cuDNN 9";
            throw new NotSupportedException(
                $"the {provider} execution provider is not available: it needs the Microsoft.ML.OnnxRuntime.Gpu package (build with -p:SegmenterOnnxRuntime=gpu) " +
                $"and {needs} installed on the host, with an NVIDIA driver ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>
    /// ONNX Runtime's TensorRT provider options for <paramref name="options"/>: the device, float16 (with LayerNorm in float32),
    /// engine and timing caches, the workspace and the shape profile.
    /// </summary>
    public static Dictionary<string, string> TensorRtProviderOptions(OnnxSessionOptions options)
    {
        var settings = options.TensorRt ?? new TensorRtSettings();
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["trt_fp16_enable"] = settings.Float16 ? "1" : "0",
            ["trt_engine_cache_enable"] = "1",
            ["trt_engine_cache_path"] = settings.CachePath,
            ["trt_timing_cache_enable"] = "1",
            ["trt_timing_cache_path"] = settings.CachePath,
            ["trt_max_workspace_size"] = settings.WorkspaceBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (settings.Float16) values["trt_layer_norm_fp32_fallback"] = "1";
        if (settings.Profile is { } profile)
        {
            values["trt_profile_min_shapes"] = profile.Min.ToString();
            values["trt_profile_opt_shapes"] = profile.Opt.ToString();
            values["trt_profile_max_shapes"] = profile.Max.ToString();
        }
        return values;
    }

    /// <summary>The execution providers this build of ONNX Runtime offers.</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();
}
