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

    private readonly InferenceSession session;   // the whole model, or its body when it is split
    private readonly InferenceSession? head;       // the upsampling, when the model is split
    private readonly OnnxGraphSplit? split;
    private readonly RunOptions runOptions = new();
    private readonly bool hasLabels;
    private SharedWeights? shared;

    /// <summary>Opens <paramref name="path"/>; a clear error if the provider is not available in this build or on this host.</summary>
    public OnnxSession(string path, OnnxSessionOptions? options = null)
        : this(ModelSource.File(path, options), options, shared: null)
    {
    }

    /// <summary>Opens a model held in memory (e.g. <c>proto.ToByteArray()</c>, to check an export before writing it anywhere).</summary>
    public OnnxSession(byte[] model, OnnxSessionOptions? options = null)
        : this(ModelSource.Memory(model, options), options, shared: null)
    {
    }

    /// <summary>
    /// <paramref name="count"/> sessions of the file at <paramref name="path"/>, to run side by side on threads of their own
    /// (as Triton's instance groups do). They share the weights ONNX Runtime pre-packs for its kernels: the int8 products
    /// pack theirs, so a second replica of Seg-B/16 int8 costs 43 MB rather than 118 MB; float32 products read the weights
    /// as stored, which each replica holds (about the size of the file).
    /// </summary>
    public static IReadOnlyList<OnnxSession> Replicas(string path, OnnxSessionOptions options, int count)
    {
        var source = ModelSource.File(path, options);   // read and cut once for all of them
        return OpenReplicas(count, shared => new OnnxSession(source, options, shared));
    }

    /// <summary><paramref name="count"/> sessions of a model held in memory, sharing their packed weights (see <see cref="Replicas(string, OnnxSessionOptions, int)"/>).</summary>
    public static IReadOnlyList<OnnxSession> Replicas(byte[] model, OnnxSessionOptions options, int count)
    {
        var source = ModelSource.Memory(model, options);
        return OpenReplicas(count, shared => new OnnxSession(source, options, shared));
    }

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

    /// <summary>
    /// Where a model comes from: a file (opened by ONNX Runtime from its path) or bytes; and, when the options ask for it
    /// and the graph allows it, the model cut at its upsampling (<see cref="OnnxSessionOptions.SplitAtUpsampling"/>).
    /// </summary>
    private sealed record ModelSource(string Name, string? Path, byte[]? Bytes, OnnxGraphSplit? Split)
    {
        public static ModelSource File(string path, OnnxSessionOptions? options)
        {
            if (!System.IO.File.Exists(path)) throw new System.IO.FileNotFoundException($"ONNX file '{path}' does not exist", path);
            return new ModelSource(path, path, null, Splits(options) ? OnnxGraphSplit.TryCut(System.IO.File.ReadAllBytes(path)) : null);
        }

        public static ModelSource Memory(byte[] model, OnnxSessionOptions? options) =>
            new("the exported model", null, model, Splits(options) ? OnnxGraphSplit.TryCut(model) : null);

        private static bool Splits(OnnxSessionOptions? options) =>
            options is { SplitAtUpsampling: true } && options.Provider.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase);
    }

    private OnnxSession(ModelSource source, OnnxSessionOptions? options, SharedWeights? shared)
    {
        options ??= new OnnxSessionOptions();
        using var sessionOptions = SessionOptionsFor(options);
        // A graph cut from a file is opened from bytes: its weights in a data file (external data) are found beside the file.
        if (source.Split is not null && source.Path is { } filePath)
            sessionOptions.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(filePath))!);
        var container = shared?.Container;
        try
        {
            if (source.Split is { } parts)
            {
                session = container is null ? new InferenceSession(parts.Body, sessionOptions) : new InferenceSession(parts.Body, sessionOptions, container);
                head = new InferenceSession(parts.Head, sessionOptions);
                split = parts;
            }
            else if (source.Path is { } path)
                session = container is null ? new InferenceSession(path, sessionOptions) : new InferenceSession(path, sessionOptions, container);
            else
                session = container is null ? new InferenceSession(source.Bytes!, sessionOptions) : new InferenceSession(source.Bytes!, sessionOptions, container);
        }
        catch (OnnxRuntimeException e)
        {
            session?.Dispose();
            throw new System.IO.InvalidDataException($"{source.Name}: ONNX Runtime cannot load it: {e.Message}", e);
        }
        var outputs = (head ?? session).OutputMetadata;
        if (!session.InputMetadata.ContainsKey("image") || !outputs.ContainsKey("logits"))
        {
            var message = $"{source.Name}: not a Segmenter export (expected an input 'image' and an output 'logits'; it has inputs {string.Join(", ", session.InputMetadata.Keys)} " +
                          $"and outputs {string.Join(", ", outputs.Keys)})";
            session.Dispose();
            head?.Dispose();
            throw new System.IO.InvalidDataException(message);
        }
        this.shared = shared?.Join();
        // ONNX Runtime parsed the file into memory and copied the weights out of it: hand the freed copy back to the system.
        NativeSettings.ReleaseFreedMemory();
        hasLabels = outputs.ContainsKey("labels");
        var dims = session.InputMetadata["image"].Dimensions;
        if (dims.Length == 4 && dims[2] > 0 && dims[3] > 0) StaticSize = (dims[2], dims[3]);
        Name = source.Name;
        Provider = options.DeviceId == 0 || options.Provider.Trim().ToLowerInvariant() == "cpu" ? options.Provider : $"{options.Provider}:{options.DeviceId}";
        Metadata = session.ModelMetadata.CustomMetadataMap;
        Classes = outputs["logits"].Dimensions[1];
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
            var names = labelValue is null ? LogitsOnly : LogitsAndLabels;
            var values = labelValue is null ? new[] { outputValue } : new[] { outputValue, labelValue };
            if (head is null)
            {
                session.Run(runOptions, InputNames, new[] { inputValue }, names, values);
                return;
            }
            using var cut = session.Run(runOptions, InputNames, new[] { inputValue }, split!.Cut);
            head.Run(runOptions, split.Cut, cut, names, values);
        }
        catch (OnnxRuntimeException e)
        {
            throw RunFailed(images, e);
        }
    }

    /// <summary>
    /// Whether <see cref="RunLabelsInto"/> can take the labels without making the logits: the session was opened with
    /// <see cref="OnnxSessionOptions.SplitAtUpsampling"/> on an export of this project's kind (float32, on the CPU).
    /// </summary>
    public bool CanRunLabels => split is not null;

    /// <summary>
    /// Writes the labels [B, H, W] (uint8 up to 256 classes, else int64; a contiguous CPU tensor the caller keeps) of
    /// normalised images [B, 3, H, W]: the model runs up to its class maps at patch resolution, and
    /// <see cref="UpsampledArgmax"/> takes the argmax of their upsampling with the graph's own interpolation matrices, on up
    /// to <paramref name="threads"/> threads (0: every core; 1: the calling thread). Only where <see cref="CanRunLabels"/>.
    /// </summary>
    public unsafe void RunLabelsInto(Tensor images, Tensor labels, int threads = 0)
    {
        if (split is null) throw new InvalidOperationException($"{Name}: labels without logits need a session opened with SplitAtUpsampling on a float32 export of this project, on the CPU");
        SegmenterModel.CheckImages(images);
        CheckSize(images);
        var expected = new[] { images.shape[0], images.shape[2], images.shape[3] };
        bool bytes = LabelsOutput.IsByte(Classes);
        if (!labels.shape.SequenceEqual(expected) || labels.dtype != (bytes ? ScalarType.Byte : ScalarType.Int64) || !labels.is_contiguous() || labels.device.type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"the labels must be a contiguous {(bytes ? "uint8" : "int64")} CPU tensor [{string.Join(", ", expected)}], got {labels.dtype} [{string.Join(", ", labels.shape)}]", nameof(labels));
        using var scope = NewDisposeScope();
        var input = images.to(float32).cpu().contiguous();
        using var inputValue = Wrap(input, TensorElementType.Float);
        IDisposableReadOnlyCollection<OrtValue> cut;
        try
        {
            cut = session.Run(runOptions, InputNames, new[] { inputValue }, split.Cut);
        }
        catch (OnnxRuntimeException e)
        {
            throw RunFailed(images, e);
        }
        using (cut)
        {
            var (maps, rows, columns) = (cut[0], cut[1], cut[2]);
            var mapShape = maps.GetTensorTypeAndShape().Shape;
            var rowShape = rows.GetTensorTypeAndShape().Shape;
            var columnShape = columns.GetTensorTypeAndShape().Shape;
            if (mapShape.Length != 4 || mapShape[0] != expected[0] || mapShape[1] != Classes || !rowShape.SequenceEqual(new[] { expected[1], mapShape[2] }) ||
                !columnShape.SequenceEqual(new[] { expected[2], mapShape[3] }))
                throw new InvalidOperationException($"{Name}: the class maps [{string.Join(", ", mapShape)}] and interpolation matrices [{string.Join(", ", rowShape)}], " +
                                                    $"[{string.Join(", ", columnShape)}] do not fit images [{string.Join(", ", images.shape)}]");
            var shape = new UpsampledArgmax.Shape((int)mapShape[0], Classes, (int)mapShape[2], (int)mapShape[3], (int)expected[1], (int)expected[2]);
            fixed (float* mapData = maps.GetTensorDataAsSpan<float>())
            fixed (float* rowData = rows.GetTensorDataAsSpan<float>())
            fixed (float* columnData = columns.GetTensorDataAsSpan<float>())
                UpsampledArgmax.Labels(shape, mapData, rowData, columnData, (void*)TensorMemory.Address(labels), bytes, threads);
        }
    }

    /// <summary>A failed run, said with the input's shape (for example an input outside a TensorRT profile, or a provider that fails on this host).</summary>
    private InvalidOperationException RunFailed(Tensor images, OnnxRuntimeException e) =>
        new($"{Name}: ONNX Runtime could not run [{string.Join(", ", images.shape)}]: {e.Message}", e);

    /// <inheritdoc />
    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
        head?.Dispose();
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

    /// <summary>ONNX Runtime's session options for <paramref name="options"/>, the execution provider added.</summary>
    internal static SessionOptions SessionOptionsFor(OnnxSessionOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = options.Optimization,
            IntraOpNumThreads = options.Threads,
            InterOpNumThreads = 1,
            EnableMemoryPattern = options.MemoryPattern,
        };
        try
        {
            AddProvider(sessionOptions, options);
            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

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
