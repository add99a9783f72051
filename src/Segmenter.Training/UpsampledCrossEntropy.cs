using System;
using Segmenter.Runtime;
using Segmenter.Runtime.Vectors;
using static TorchSharp.torch;

namespace Segmenter.Training;

/// <summary>
/// The training loss of Segmenter: pixel-wise cross-entropy of the logits upsampled bilinearly from patch resolution to
/// the labels' resolution, averaged over the labelled pixels — what
/// <c>cross_entropy(crop(Resize.Bilinear(patchLogits, H', W'), H, W), labels, ignore_index)</c> computes.
/// <para>
/// On the CPU in float32 it is computed without the [B, K, H, W] logits: each output row is interpolated, its
/// log-sum-exp and the gradient of the loss with respect to it are computed while the row is in cache, and the gradient
/// is folded back through the interpolation to patch resolution at once. The loss and the gradient are the same to float
/// rounding; the memory the full-resolution logits, their log-softmax and their gradients took (300 MB each for
/// 150 classes, 2 images at 512²) is not needed, and the step is faster. Other devices and types use the composition
/// above.
/// </para>
/// </summary>
public static partial class UpsampledCrossEntropy
{
    /// <summary>
    /// The training loss of <paramref name="model"/> on normalised <paramref name="images"/> [B, 3, H, W] against
    /// <paramref name="labels"/> [B, H, W]: the mean cross-entropy of its logits over the labelled pixels, computed from
    /// its patch logits (see <see cref="Compute(Tensor, long, long, Tensor, long)"/>). Equal, to float rounding, to
    /// <c>cross_entropy(model.call(images), labels, ignore_index)</c>.
    /// </summary>
    public static Tensor Of(SegmenterModel model, Tensor images, Tensor labels, long ignoreIndex)
    {
        if (labels.dim() != 3 || images.dim() != 4 || labels.shape[1] != images.shape[2] || labels.shape[2] != images.shape[3])
            throw new ArgumentException($"labels [{string.Join(", ", labels.shape)}] do not match images [{string.Join(", ", images.shape)}]: expected [batch, height, width] of the images");
        using var scope = NewDisposeScope();
        var patchLogits = model.PatchLogits(images);
        long patch = model.Specification.PatchSize;
        return Compute(patchLogits, patchLogits.shape[2] * patch, patchLogits.shape[3] * patch, labels, ignoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean cross-entropy of <paramref name="patchLogits"/> [B, K, h, w], upsampled to [B, K, <paramref name="paddedHeight"/>,
    /// <paramref name="paddedWidth"/>] and cropped to the size of <paramref name="labels"/> [B, H, W] (int64 class indices,
    /// <paramref name="ignoreIndex"/> for unlabelled pixels). A scalar that back-propagates into <paramref name="patchLogits"/>.
    /// With no labelled pixel the loss is NaN, as PyTorch's.
    /// </summary>
    public static Tensor Compute(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels, long ignoreIndex) =>
        Compute(patchLogits, paddedHeight, paddedWidth, labels, ignoreIndex, Lanes.Widest);

    /// <summary><see cref="Compute(Tensor, long, long, Tensor, long)"/> with vectors of <paramref name="lanes"/> floats (16, 8 or 4; 0 for the composition).</summary>
    internal static Tensor Compute(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels, long ignoreIndex, int lanes)
    {
        Check(patchLogits, paddedHeight, paddedWidth, labels);
        if (lanes == 0 || !CanFuse(patchLogits, paddedHeight, paddedWidth, labels)) return Composed(patchLogits, paddedHeight, paddedWidth, labels, ignoreIndex);

        // Finite patch logits give finite interpolated logits; others take PyTorch's path, so the loss is what it gives.
        if (!AllFinite(patchLogits)) return Composed(patchLogits, paddedHeight, paddedWidth, labels, ignoreIndex);

        using var scope = NewDisposeScope();
        Tensor gradient;
        RowSums sums;
        using (no_grad())
        {
            long height = labels.shape[1], width = labels.shape[2];

            // The horizontal pass is one product with the interpolation matrix, giving rows [B, h, K, W₊]: for each source
            // row, every class's interpolated row in turn. W₊ is the width rounded up to whole blocks of vectors and one vector more,
            // so that classes are not a power of two bytes apart (which would put them all in the same cache sets); the
            // extra columns are zero and count as unlabelled. The vertical pass is the kernel's, in blocks of VectorBlock vectors.
            long stride = KernelColumns(width, lanes) + lanes;
            var columns = ColumnMatrix(patchLogits.shape[3], paddedWidth, width, stride);    // [w, W₊]
            // Made contiguous before the product: for logits that need no gradient, libtorch multiplied the permuted view as a
            // batch of products with the matrix expanded over the batch, into fresh memory each time: 3.7–146 ms for one 512²
            // image against 2.0–2.9 ms this way (a throw-away probe, one thread).
            var rows = patchLogits.permute(0, 2, 1, 3).contiguous().matmul(columns);          // [B, h, K, W₊]
            var rowGradient = zeros_like(rows);
            sums = Kernel(lanes, rows, labels.contiguous(), Resize.LinearTaps(patchLogits.shape[2], paddedHeight), width, ignoreIndex, rowGradient);
            if (sums.UnknownLabel is { } unknown)
                throw new ArgumentException($"label {unknown} is not a class of a {patchLogits.shape[1]}-class model (classes are 0 to {patchLogits.shape[1] - 1}; {ignoreIndex} marks unlabelled pixels)");
            gradient = rowGradient.matmul(columns.t()).permute(0, 2, 1, 3)                    // [B, K, h, w]
                .mul_(Scalars.Of(sums.Labelled == 0 ? 0.0 : 1.0 / sums.Labelled));
        }

        var value = tensor(sums.Labelled == 0 ? float.NaN : (float)(sums.Loss / sums.Labelled));
        if (!patchLogits.requires_grad || !is_grad_enabled()) return value.MoveToOuterDisposeScope();
        // A scalar whose value is the loss and whose gradient with respect to the patch logits is the one computed above:
        // d − d is exactly zero, and only the first d is differentiated.
        var surrogate = patchLogits.mul(gradient).sum();
        // Plus: add's alpha is a long-lived scalar (a temporary one could be collected during the call; sub takes none from here).
        return surrogate.sub(surrogate.detach()).Plus(value).MoveToOuterDisposeScope();
    }

    /// <summary>The composition the fused path replaces: upsample, crop, cross-entropy.</summary>
    public static Tensor Composed(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels, long ignoreIndex)
    {
        using var scope = NewDisposeScope();
        var logits = PatchPadding.Crop(Resize.Bilinear(patchLogits, paddedHeight, paddedWidth), labels.shape[1], labels.shape[2]);
        return nn.functional.cross_entropy(logits, labels, ignore_index: ignoreIndex).MoveToOuterDisposeScope();
    }

    private static bool AllFinite(Tensor tensor)
    {
        using var noGrad = no_grad();
        using var finite = tensor.isfinite();
        using var all = finite.all();
        return all.item<bool>();
    }

    private static void Check(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels)
    {
        if (patchLogits.dim() != 4) throw new ArgumentException($"expected patch logits [batch, classes, height, width], got [{string.Join(", ", patchLogits.shape)}]");
        if (labels.dim() != 3 || labels.shape[0] != patchLogits.shape[0])
            throw new ArgumentException($"expected labels [{patchLogits.shape[0]}, height, width] for patch logits [{string.Join(", ", patchLogits.shape)}], got [{string.Join(", ", labels.shape)}]");
        if (labels.dtype != ScalarType.Int64) throw new ArgumentException($"labels must be int64 class indices, got {labels.dtype}");
        if (labels.shape[1] > paddedHeight || labels.shape[2] > paddedWidth)
            throw new ArgumentException($"labels of {labels.shape[1]}×{labels.shape[2]} are larger than the upsampled logits of {paddedHeight}×{paddedWidth}");
    }

    private static bool CanFuse(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels) =>
        patchLogits.device.type == TorchSharp.DeviceType.CPU && labels.device.type == TorchSharp.DeviceType.CPU
        && patchLogits.dtype == ScalarType.Float32
        && paddedHeight >= patchLogits.shape[2] && paddedWidth >= patchLogits.shape[3]
        && patchLogits.numel() > 0 && labels.numel() > 0;

    /// <summary>The [w, W₊] matrix of horizontal interpolation to <paramref name="to"/> columns, of which the first <paramref name="kept"/> are kept and the rest are zero.</summary>
    private static Tensor ColumnMatrix(long from, long to, long kept, long paddedColumns)
    {
        var taps = Resize.LinearTaps(from, to);
        var weights = new float[from * paddedColumns];
        for (long x = 0; x < kept; x++)
        {
            weights[taps[x].Index0 * paddedColumns + x] += taps[x].Weight0;
            weights[taps[x].Index1 * paddedColumns + x] += taps[x].Weight1;
        }
        return tensor(weights, new[] { from, paddedColumns });
    }
}
