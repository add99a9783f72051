using System;
using Segmenter.Export;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Serving;

/// <summary>
/// What runs a batch: normalised images [B, 3, H, W] (float32, CPU) in, logits [B, K, H, W] (float32, CPU) out.
/// The server calls it from one thread at a time.
/// </summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>The platform the model metadata names: Triton's <c>onnxruntime_onnx</c> for ONNX Runtime, <c>torchsharp</c> for TorchSharp.</summary>
    string Platform { get; }

    /// <summary>The number of classes K.</summary>
    int Classes { get; }

    /// <summary>The only input size an export made with <c>--static</c> takes; null for any size.</summary>
    (int Height, int Width)? StaticSize { get; }

    /// <summary>Logits for a batch of normalised images, in a tensor of their own.</summary>
    Tensor Run(Tensor images);

    /// <summary>Whether <see cref="RunInto"/> writes into a buffer the caller reuses (sparing a large allocation per run).</summary>
    bool CanRunInto { get; }

    /// <summary>Writes the logits into <paramref name="logits"/>, a contiguous float32 CPU tensor [B, K, H, W].</summary>
    void RunInto(Tensor images, Tensor logits);

    /// <summary>Whether <see cref="RunLabelsInto"/> takes the labels without making the logits.</summary>
    bool CanRunLabels => false;

    /// <summary>
    /// Writes the labels [B, H, W] (uint8 up to 256 classes, else int64) into <paramref name="labels"/> without making the
    /// logits, on up to <paramref name="threads"/> threads (0: every core); only where <see cref="CanRunLabels"/>.
    /// </summary>
    void RunLabelsInto(Tensor images, Tensor labels, int threads) =>
        throw new NotSupportedException($"{GetType().Name} makes labels from its logits only");
}

/// <summary>An exported model in ONNX Runtime (the engine Triton runs too).</summary>
public sealed class OnnxEngine : IInferenceEngine
{
    private readonly OnnxSession session;

    /// <summary>Takes ownership of <paramref name="session"/>.</summary>
    public OnnxEngine(OnnxSession session) => this.session = session;

    /// <inheritdoc />
    public string Platform => "onnxruntime_onnx";

    /// <inheritdoc />
    public int Classes => session.Classes;

    /// <inheritdoc />
    public (int Height, int Width)? StaticSize => session.StaticSize;

    /// <inheritdoc />
    public Tensor Run(Tensor images) => session.Run(images);

    /// <inheritdoc />
    public bool CanRunInto => true;

    /// <inheritdoc />
    public void RunInto(Tensor images, Tensor logits) => session.RunLogitsInto(images, logits);   // the server takes the argmax itself

    /// <inheritdoc />
    public bool CanRunLabels => session.CanRunLabels;

    /// <inheritdoc />
    public void RunLabelsInto(Tensor images, Tensor labels, int threads) => session.RunLabelsInto(images, labels, threads);

    /// <inheritdoc />
    public void Dispose() => session.Dispose();
}

/// <summary>A model in TorchSharp, in evaluation mode without autograd, on its device.</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly SegmenterModel model;
    private readonly Device device;

    /// <summary>Takes ownership of <paramref name="model"/>, which lives on <paramref name="device"/>.</summary>
    public TorchEngine(SegmenterModel model, Device device)
    {
        this.model = model;
        this.device = device;
        model.eval();
    }

    /// <inheritdoc />
    public string Platform => "torchsharp";

    /// <inheritdoc />
    public int Classes => model.Specification.NumClasses;

    /// <inheritdoc />
    public (int Height, int Width)? StaticSize => null;

    /// <inheritdoc />
    public Tensor Run(Tensor images)
    {
        using var noGrad = no_grad();   // autograd's switch is per thread: set on the thread that runs
        using var scope = NewDisposeScope();
        // Contiguous: a model's logits for a size that is not a multiple of the patch are a cropped view, and the
        // answer is written straight from the tensor's memory.
        return model.Predict(images.to(device)).to(float32).cpu().contiguous().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public bool CanRunInto => false;

    /// <inheritdoc />
    public void RunInto(Tensor images, Tensor logits)
    {
        using var output = Run(images);
        logits.copy_(output);
    }

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}
