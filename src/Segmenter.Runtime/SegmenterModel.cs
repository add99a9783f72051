using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Spec;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// The base of every generated Segmenter model: normalised images [B, 3, H, W] in, logits
/// [B, K, H, W] out. Generated classes add the spec, the constants and the layers.
/// </summary>
public abstract class SegmenterModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Called by generated constructors.</summary>
    protected SegmenterModel(string name, SegmenterSpec specification) : base(name)
    {
        NativeSettings.Apply();   // libtorch is loaded now; its MKL must choose its kernels before the model's first product
        Specification = specification;
    }

    /// <summary>The resolved spec this model was generated from.</summary>
    public SegmenterSpec Specification { get; }

    /// <summary>
    /// Logits [B, K, H, W] for normalised images [B, 3, H, W] of any size: <see cref="PatchLogits"/> upsampled bilinearly to
    /// the image padded to whole patches, then cropped to the image.
    /// </summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var patchLogits = PatchLogits(images);                                                    // [B, K, H'/p, W'/p]
        long patch = Specification.PatchSize;
        var logits = Resize.Bilinear(patchLogits, patchLogits.shape[2] * patch, patchLogits.shape[3] * patch);   // [B, K, H', W']
        return PatchPadding.Crop(logits, images.shape[2], images.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Class logits at patch resolution [B, K, ⌈H/p⌉, ⌈W/p⌉] for normalised images [B, 3, H, W]: the decoder's output, before
    /// the upsampling to pixels. Training computes its loss from these (see Segmenter.Training's UpsampledCrossEntropy).
    /// </summary>
    public abstract Tensor PatchLogits(Tensor images);

    /// <summary>The softmax attention of encoder block <paramref name="layer"/> for <paramref name="images"/> (not padded): [B, heads, E + N, E + N].</summary>
    public abstract Tensor EncoderAttention(Tensor images, int layer);

    /// <summary>The softmax attention of mask-decoder block <paramref name="layer"/>: [B, heads, N + K, N + K]. Linear decoders have none.</summary>
    public virtual Tensor DecoderAttention(Tensor images, int layer) =>
        throw new ArgumentException($"{Specification.Name} has a linear decoder, which has no attention; decoder attention needs a mask decoder");

    /// <summary>Logits for <paramref name="images"/> in evaluation mode without autograd.</summary>
    public Tensor Predict(Tensor images)
    {
        eval();
        using var noGrad = torch.no_grad();
        return call(images);
    }

    /// <summary>The number of parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>The precision of the transformer blocks' matrix products.</summary>
    public ComputePrecision Precision { get; private set; } = ComputePrecision.Float32;

    /// <summary>
    /// Sets the precision of the transformer blocks' matrix products (see <see cref="ComputePrecision"/>). For inference,
    /// bfloat16 copies of those weights are made now, from the weights as they are: call it after loading a checkpoint, and
    /// again after training changed them. In train mode the float32 weights are cast at each product, so they stay the
    /// master weights the optimiser updates.
    /// </summary>
    public void SetPrecision(ComputePrecision precision)
    {
        foreach (var (_, module) in named_modules())
            if (module is IReducedPrecision reduced) reduced.SetPrecision(precision);
        Precision = precision;
    }

    /// <summary>Every state-dict key with its shape, in state-dict order (the format of the reference's key listings).</summary>
    public IReadOnlyList<(string Key, long[] Shape)> StateDictShapes() =>
        state_dict().Select(pair => (pair.Key, pair.Value.shape)).ToList();

    /// <summary>Throws a clear error unless <paramref name="images"/> is [B, 3, H, W] float with H, W ≥ 1.</summary>
    public static void CheckImages(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"expected normalised images of shape [batch, 3, height, width], got [{string.Join(", ", images.shape)}]");
        if (images.shape[0] < 1 || images.shape[2] < 1 || images.shape[3] < 1)
            throw new ArgumentException($"images must have a batch, height and width of at least 1, got [{string.Join(", ", images.shape)}]");
        if (!images.is_floating_point())
            throw new ArgumentException($"images must be floating point (normalised), got {images.dtype}");
    }

    /// <summary>Throws unless 0 ≤ <paramref name="layer"/> &lt; <paramref name="count"/>.</summary>
    public static void CheckLayer(int layer, int count, string part)
    {
        if (layer < 0 || layer >= count)
            throw new ArgumentOutOfRangeException(null, $"the {part} has layers 0 to {count - 1}; layer {layer} does not exist");
    }
}
