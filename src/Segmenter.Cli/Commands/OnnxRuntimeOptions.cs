using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Export;
using Segmenter.Runtime;
using Segmenter.Spec;
using static TorchSharp.torch;

namespace Segmenter.Cli.Commands;

/// <summary>
/// Running an exported file in ONNX Runtime instead of a model: <c>--onnx FILE</c>, <c>--provider cpu|cuda[:N]|tensorrt[:N]</c>
/// and TensorRT's settings. predict and eval take them; bench takes the provider and TensorRT settings.
/// </summary>
internal sealed class OnnxRuntimeOptions
{
    public Option<string?> File { get; } = new("--onnx") { Description = "Run an exported .onnx file with ONNX Runtime instead of a model (its spec comes from the file's metadata)." };

    public Option<string> Provider { get; } = new("--provider") { Description = "ONNX Runtime's execution provider: cpu, cuda[:N] or tensorrt[:N] (N: the GPU index, default 0).", DefaultValueFactory = _ => "cpu" };

    public TensorRtOptions TensorRt { get; } = new();

    public void AddTo(Command command, bool withFile = true)
    {
        if (withFile) command.Add(File);
        command.Add(Provider);
        TensorRt.AddTo(command);
    }

    /// <summary>The session settings the options describe; with TensorRT and no profile, a warning that each new shape builds an engine.</summary>
    public OnnxSessionOptions Session(ParseResult result, CliConsole console)
    {
        var text = result.GetValue(Provider)!;
        var parts = text.Split(':', 2);
        int deviceId = parts.Length == 1 ? 0 : int.TryParse(parts[1], out var index) && index >= 0 ? index
            : throw new ArgumentException($"--provider {text}: the GPU index after ':' must be a whole number ≥ 0");
        var provider = parts[0].Trim().ToLowerInvariant();
        var options = new OnnxSessionOptions { Provider = provider, DeviceId = deviceId };
        if (provider != "tensorrt")
        {
            if (TensorRt.Any(result)) throw new ArgumentException($"--trt-fp16, --trt-cache and --trt-profile are TensorRT's settings: add --provider tensorrt (the provider is {provider})");
            return options;
        }
        var settings = TensorRt.Read(result);
        if (settings.Profile is null)
            console.Warning("TensorRT without --trt-profile builds an engine for every new input shape (seconds to minutes each; cached in " +
                            $"{settings.CachePath}); give --trt-profile min,opt,max covering the sizes you run, or use fixed sizes");
        return options with { TensorRt = settings };
    }

    /// <summary>
    /// Throws if a provider or TensorRT setting was given where a TorchSharp model runs (on --device instead): without --onnx,
    /// or with <paramref name="insteadOfFile"/> naming what else puts the model in ONNX Runtime (serve's --engine onnx).
    /// </summary>
    public void RefuseWithoutFile(ParseResult result, string insteadOfFile = "give --onnx model.onnx")
    {
        if (result.GetValue(Provider) != "cpu" || TensorRt.Any(result))
            throw new ArgumentException($"--provider and the TensorRT settings apply to ONNX Runtime: {insteadOfFile} (a TorchSharp model runs on --device)");
    }

    /// <summary>An exported file's session with the options' provider, and the spec its metadata holds.</summary>
    public (OnnxSession Session, SegmenterSpec Spec) OpenFile(string onnxPath, ParseResult result, CliConsole console, int threads = 0)
    {
        var (sessions, spec) = OpenFileReplicas(onnxPath, result, console, threads, 1);
        return (sessions[0], spec);
    }

    /// <summary>
    /// <paramref name="count"/> sessions of an exported file with the options' provider, sharing their packed weights (see
    /// <see cref="OnnxSession.Replicas(string, OnnxSessionOptions, int)"/>), and the spec its metadata holds; cut at the
    /// upsampling with <paramref name="splitAtUpsampling"/> (<see cref="OnnxSessionOptions.SplitAtUpsampling"/>).
    /// </summary>
    public (IReadOnlyList<OnnxSession> Sessions, SegmenterSpec Spec) OpenFileReplicas(string onnxPath, ParseResult result, CliConsole console, int threads, int count,
        bool splitAtUpsampling = false)
    {
        var sessions = OnnxSession.Replicas(onnxPath, Session(result, console) with { Threads = threads, SplitAtUpsampling = splitAtUpsampling }, count);
        try
        {
            var metadata = sessions[0].Metadata;
            var specText = metadata.TryGetValue(OnnxMetadata.Spec, out var text) ? text
                : throw new InvalidDataException($"{onnxPath}: no '{OnnxMetadata.Spec}' metadata; export it with 'segmenter export'");
            var spec = SpecCompiler.Compile(specText).Models.SingleOrDefault()?.Spec
                       ?? throw new InvalidDataException($"{onnxPath}: its spec metadata does not compile");
            // The graph decides what runs; metadata that disagrees with it (edited, or copied from another model) is refused.
            if (sessions[0].Classes != spec.NumClasses)
                throw new InvalidDataException($"{onnxPath}: its spec metadata says {spec.NumClasses} classes, but the graph's logits have {sessions[0].Classes}: " +
                                               "the metadata was edited or belongs to another model; export the model again with 'segmenter export'");
            console.Err.WriteLine($"{onnxPath}: {spec.Name} in ONNX Runtime ({sessions[0].Provider})");
            return (sessions, spec);
        }
        catch
        {
            foreach (var session in sessions) session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The forward function (CPU tensors in and out), the spec and what to dispose: the ONNX file's session with --onnx,
    /// otherwise the model the model options describe.
    /// </summary>
    public (Func<Tensor, Tensor> Run, SegmenterSpec Spec, IDisposable Owner) Open(ParseResult result, ModelOptions model, CliConsole console,
        Action<SegmenterModel>? prepare = null)
    {
        if (result.GetValue(File) is { } onnxPath)
        {
            if (!string.IsNullOrEmpty(result.GetValue(model.Model)) || result.GetValue(model.Checkpoint) is not null)
                throw new ArgumentException("give a model (with --checkpoint) or --onnx model.onnx, not both: the ONNX file holds its model and weights");
            var (session, spec) = OpenFile(onnxPath, result, console);
            return (session.Run, spec, session);
        }
        RefuseWithoutFile(result);
        if (string.IsNullOrEmpty(result.GetValue(model.Model)))
            throw new ArgumentException("give a model (zoo name, file.seg[:Model] or variant.yml) or --onnx model.onnx");
        var (network, device) = model.Build(result, console);
        network.eval();
        prepare?.Invoke(network);
        return (images =>
        {
            using var onDevice = images.to(device);
            using var output = network.Predict(onDevice);
            return output.cpu();
        }, network.Specification, network);
    }
}
