using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Segmenter.Runtime;
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
public static class UpsampledCrossEntropy
{
    /// <summary>
    /// The training loss of <paramref name="model"/> on normalised <paramref name="images"/> [B, 3, H, W] against
    /// <paramref name="labels"/> [B, H, W]: the mean cross-entropy of its logits over the labelled pixels, computed from
    /// its patch logits (see <see cref="Compute"/>). Equal, to float rounding, to
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
    public static Tensor Compute(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels, long ignoreIndex)
    {
        Check(patchLogits, paddedHeight, paddedWidth, labels);
        if (!CanFuse(patchLogits, paddedHeight, paddedWidth, labels)) return Composed(patchLogits, paddedHeight, paddedWidth, labels, ignoreIndex);

        using var scope = NewDisposeScope();
        Tensor gradient;
        double lossSum;
        long labelled;
        using (no_grad())
        {
            long classes = patchLogits.shape[1], height = labels.shape[1], width = labels.shape[2];
            var target = labels.contiguous();
            var labelledMask = target.ne(Scalars.Of(ignoreIndex));
            labelled = labelledMask.sum().item<long>();
            CheckClasses(target, labelledMask, classes, ignoreIndex);

            // The horizontal pass is one product with the interpolation matrix, giving rows [B, h, K, W₊]: for each source
            // row, every class's interpolated row in turn. W₊ is the width rounded up to whole vectors and one more, so that
            // classes are not a power of two bytes apart (which would map them all to the same cache sets); the extra
            // columns are zero and count as unlabelled. The vertical pass is the kernel's.
            long stride = (width + Vector<float>.Count - 1) / Vector<float>.Count * Vector<float>.Count + Vector<float>.Count;
            var columns = ColumnMatrix(patchLogits.shape[3], paddedWidth, width, stride);           // [w, W₊]
            var rows = patchLogits.permute(0, 2, 1, 3).matmul(columns).contiguous();                 // [B, h, K, W₊]
            if (!rows.isfinite().all().item<bool>())
                return Composed(patchLogits, paddedHeight, paddedWidth, labels, ignoreIndex).MoveToOuterDisposeScope();
            var rowGradient = zeros_like(rows);
            float scale = labelled == 0 ? 0f : 1f / labelled;
            lossSum = Kernel(rows, target, Resize.LinearTaps(patchLogits.shape[2], paddedHeight), height, width, ignoreIndex, scale, rowGradient);
            gradient = rowGradient.matmul(columns.t()).permute(0, 2, 1, 3);                          // [B, K, h, w]
        }

        var value = tensor(labelled == 0 ? float.NaN : (float)(lossSum / labelled));
        if (!patchLogits.requires_grad || !is_grad_enabled()) return value.MoveToOuterDisposeScope();
        // A scalar whose value is the loss and whose gradient with respect to the patch logits is the one computed above:
        // d − d is exactly zero, and only the first d is differentiated.
        var surrogate = patchLogits.mul(gradient).sum();
        return surrogate.sub(surrogate.detach()).add(value).MoveToOuterDisposeScope();
    }

    /// <summary>The composition the fused path replaces: upsample, crop, cross-entropy.</summary>
    public static Tensor Composed(Tensor patchLogits, long paddedHeight, long paddedWidth, Tensor labels, long ignoreIndex)
    {
        using var scope = NewDisposeScope();
        var logits = PatchPadding.Crop(Resize.Bilinear(patchLogits, paddedHeight, paddedWidth), labels.shape[1], labels.shape[2]);
        return nn.functional.cross_entropy(logits, labels, ignore_index: ignoreIndex).MoveToOuterDisposeScope();
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
        && patchLogits.dtype == ScalarType.Float32 && Vector.IsHardwareAccelerated
        && paddedHeight >= patchLogits.shape[2] && paddedWidth >= patchLogits.shape[3]
        && patchLogits.numel() > 0 && labels.numel() > 0;

    /// <summary>Throws as PyTorch would for a label that is neither a class nor the ignore index.</summary>
    private static void CheckClasses(Tensor target, Tensor labelledMask, long classes, long ignoreIndex)
    {
        var outside = labelledMask.logical_and(target.lt(Scalars.Of(0L)).logical_or(target.ge(Scalars.Of(classes))));
        if (!outside.any().item<bool>()) return;
        long first = target.masked_select(outside)[0].item<long>();
        throw new ArgumentException($"label {first} is not a class of a {classes}-class model (classes are 0 to {classes - 1}; {ignoreIndex} marks unlabelled pixels)");
    }

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

    /// <summary>
    /// For each image and output row: the logits of every class (two horizontally interpolated rows blended), their
    /// log-sum-exp, the loss of the labelled pixels, and softmax − one-hot (times <paramref name="scale"/>) folded back
    /// into the two source rows of <paramref name="gradient"/>. Returns the sum of the pixels' losses.
    /// <para>
    /// The output rows between source rows i and i + 1 form one task; tasks write source rows i and i + 1, so the even
    /// tasks run first and then the odd ones: no two running tasks write the same row, and each sum is made in the same
    /// order every time.
    /// </para>
    /// </summary>
    private static unsafe double Kernel(Tensor rows, Tensor labels, (int Index0, int Index1, float Weight0, float Weight1)[] taps,
        long height, long width, long ignoreIndex, float scale, Tensor gradient)
    {
        int batch = (int)rows.shape[0], sourceRows = (int)rows.shape[1], classes = (int)rows.shape[2], stride = (int)rows.shape[3];
        int columns = (int)(width + Vector<float>.Count - 1) / Vector<float>.Count * Vector<float>.Count;
        float* source = (float*)TensorMemory.Address(rows);
        float* sink = (float*)TensorMemory.Address(gradient);
        long* label = (long*)TensorMemory.Address(labels);
        var firstRow = new int[sourceRows + 1];   // output rows [firstRow[i], firstRow[i + 1]) blend source rows i and taps' Index1
        for (int i = 0, y = 0; i <= sourceRows; i++)
        {
            while (y < height && taps[y].Index0 < i) y++;
            firstRow[i] = y;
        }
        var sums = new double[batch * sourceRows];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        for (int parity = 0; parity < 2; parity++)
        {
            int tasks = batch * ((sourceRows - parity + 1) / 2);
            Parallel.For(0, tasks, parallel, () => new float[classes * Tile + 3 * Tile], (task, _, buffer) =>
            {
                int perImage = (sourceRows - parity + 1) / 2;
                int b = task / perImage, i = 2 * (task % perImage) + parity;
                if (firstRow[i] == firstRow[i + 1]) return buffer;
                long upper = ((long)b * sourceRows + i) * classes * stride, lower = ((long)b * sourceRows + taps[firstRow[i]].Index1) * classes * stride;
                var job = new RowJob
                {
                    Upper = source + upper,
                    Lower = source + lower,
                    UpperGradient = sink + upper,
                    LowerGradient = sink + lower,
                    ClassStride = stride,
                    Classes = classes,
                    Width = width,
                    Scale = scale,
                    IgnoreIndex = ignoreIndex,
                };
                fixed (float* scratch = buffer)
                    sums[b * sourceRows + i] = job.Rows(firstRow[i], firstRow[i + 1], taps, columns, label + (long)b * height * width, scratch);
                return buffer;
            }, _ => { });
        }
        double total = 0;
        foreach (double sum in sums) total += sum;
        return total;
    }

    /// <summary>Columns handled together: a tile of every class's logits stays in the core's cache.</summary>
    private const int Tile = 128;

    /// <summary>One task's two source rows (each class's <see cref="ClassStride"/> floats after the previous one's) and the gradient rows it adds to.</summary>
    private unsafe struct RowJob
    {
        public float* Upper, Lower, UpperGradient, LowerGradient;
        public long ClassStride;
        public int Classes;
        public long Width;
        public float Scale;
        public long IgnoreIndex;

        /// <summary>Output rows [first, end) in tiles of columns; returns their loss sum.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Rows(int first, int end, (int Index0, int Index1, float Weight0, float Weight1)[] taps, int columns, long* labels, float* scratch)
        {
            double sum = 0;
            for (int x0 = 0; x0 < columns; x0 += Tile)
            {
                int tile = Math.Min(Tile, columns - x0);
                for (int y = first; y < end; y++)
                    sum += Row(x0, tile, taps[y].Weight0, taps[y].Weight1, labels + y * Width, scratch);
            }
            return sum;
        }

        /// <summary>Columns [x0, x0 + tile) of one output row blended as w0 · upper + w1 · lower; returns the row's loss sum.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private double Row(int x0, int tile, float w0, float w1, long* labels, float* scratch)
        {
            int lanes = Vector<float>.Count;
            float* max = scratch + Classes * Tile, total = max + Tile, factor = total + Tile;
            var a = new Vector<float>(w0);
            var c = new Vector<float>(w1);
            // Class by class, so that each pass reads and writes whole rows in order.
            for (int x = 0; x < tile; x += lanes)
            {
                Store(max + x, new Vector<float>(float.NegativeInfinity));
                Store(total + x, Vector<float>.Zero);
            }
            for (int k = 0; k < Classes; k++)
            {
                float* upper = Upper + k * ClassStride + x0, lower = Lower + k * ClassStride + x0, z = scratch + k * Tile;
                for (int x = 0; x < tile; x += lanes)
                {
                    var value = Vector.FusedMultiplyAdd(a, Load(upper + x), c * Load(lower + x));
                    Store(z + x, value);
                    Store(max + x, Vector.Max(Load(max + x), value));
                }
            }
            for (int k = 0; k < Classes; k++)
            {
                float* z = scratch + k * Tile;
                for (int x = 0; x < tile; x += lanes)
                {
                    var e = Exp(Load(z + x) - Load(max + x));
                    Store(z + x, e);
                    Store(total + x, Load(total + x) + e);
                }
            }

            double loss = 0;
            for (int x = 0; x < tile; x++)
            {
                long column = x0 + x;
                long t = column < Width ? labels[column] : IgnoreIndex;
                if (t == IgnoreIndex)
                {
                    factor[x] = 0;
                    continue;
                }
                float zt = w0 * Upper[t * ClassStride + column] + w1 * Lower[t * ClassStride + column];
                loss += max[x] + MathF.Log(total[x]) - zt;
                factor[x] = Scale / total[x];
            }

            for (int k = 0; k < Classes; k++)
            {
                float* e = scratch + k * Tile, upper = UpperGradient + k * ClassStride + x0, lower = LowerGradient + k * ClassStride + x0;
                for (int x = 0; x < tile; x += lanes)
                {
                    var g = Load(e + x) * Load(factor + x);
                    Store(upper + x, Vector.FusedMultiplyAdd(a, g, Load(upper + x)));
                    Store(lower + x, Vector.FusedMultiplyAdd(c, g, Load(lower + x)));
                }
            }
            for (int x = 0; x < tile; x++)
            {
                if (factor[x] == 0) continue;
                long column = x0 + x, t = labels[column];
                UpperGradient[t * ClassStride + column] -= w0 * Scale;
                LowerGradient[t * ClassStride + column] -= w1 * Scale;
            }
            return loss;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    /// <summary>
    /// eˣ for x ≤ 0 to within 2 ulp: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts), eʳ by its Taylor polynomial
    /// to r⁷ (remainder below 10⁻⁸ of the result), times 2ⁿ made in the exponent bits. Below −87.3 the result is the
    /// smallest normal float rather than 0, which changes no sum of softmax terms.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> Exp(Vector<float> x)
    {
        x = Vector.Max(x, new Vector<float>(-87.3365f));
        var n = Vector.Round(x * new Vector<float>(1.44269504f));
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-0.693145752f), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(-1.42860677e-6f), r);
        var p = new Vector<float>(1f / 5040);
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 720));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 120));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 24));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 6));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(0.5f));
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        var exponent = Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23);
        return p * Vector.AsVectorSingle(exponent);
    }
}
