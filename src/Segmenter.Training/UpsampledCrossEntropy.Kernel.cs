using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using Segmenter.Runtime;
using Segmenter.Runtime.Vectors;
using static TorchSharp.torch;

namespace Segmenter.Training;

public static partial class UpsampledCrossEntropy
{
    /// <summary>Columns handled together: a tile of every class's logits and gradients stays in the core's cache.</summary>
    private const int Tile = 128;

    /// <summary>What the kernel adds up: the labelled pixels' losses, their number, and a label that is not a class, if any.</summary>
    private readonly record struct RowSums(double Loss, long Labelled, long? UnknownLabel);

    /// <summary>
    /// For each image and output row: the logits of every class (two horizontally interpolated rows blended), their
    /// log-sum-exp, the loss of the labelled pixels, and softmax − one-hot folded back into the two source rows of
    /// <paramref name="gradient"/> (not yet divided by the number of labelled pixels).
    /// <para>
    /// The output rows between source rows i and i + 1 form one task; tasks write source rows i and i + 1, so the even
    /// tasks run first and then the odd ones: no two running tasks write the same row, and every sum is made in the same
    /// order every time.
    /// </para>
    /// </summary>
    private static RowSums Kernel(int lanes, Tensor rows, Tensor labels, (int Index0, int Index1, float Weight0, float Weight1)[] taps, long width, long ignoreIndex, Tensor gradient) =>
        lanes switch
        {
            16 => Kernel<Lanes512, Vector512<float>>(rows, labels, taps, width, ignoreIndex, gradient),
            8 => Kernel<Lanes256, Vector256<float>>(rows, labels, taps, width, ignoreIndex, gradient),
            _ => Kernel<Lanes128, Vector128<float>>(rows, labels, taps, width, ignoreIndex, gradient),
        };

    private static unsafe RowSums Kernel<TLanes, TVector>(Tensor rows, Tensor labels, (int Index0, int Index1, float Weight0, float Weight1)[] taps,
        long width, long ignoreIndex, Tensor gradient)
        where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        int batch = (int)rows.shape[0], sourceRows = (int)rows.shape[1], classes = (int)rows.shape[2], stride = (int)rows.shape[3];
        long height = labels.shape[1];
        int columns = (int)((width + TLanes.Count - 1) / TLanes.Count * TLanes.Count);
        float* source = (float*)TensorMemory.Address(rows);
        float* sink = (float*)TensorMemory.Address(gradient);
        long* label = (long*)TensorMemory.Address(labels);
        var firstRow = new int[sourceRows + 1];   // output rows [firstRow[i], firstRow[i + 1]) blend source row i and the one below
        for (int i = 0, y = 0; i <= sourceRows; i++)
        {
            while (y < height && taps[y].Index0 < i) y++;
            firstRow[i] = y;
        }

        var losses = new double[batch * sourceRows];
        var labelled = new long[batch * sourceRows];
        var unknown = new long[batch * sourceRows];
        Array.Fill(unknown, ignoreIndex);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
        for (int parity = 0; parity < 2; parity++)
        {
            int perImage = (sourceRows - parity + 1) / 2;
            Parallel.For(0, batch * perImage, parallel, () => new float[classes * Tile + 3 * Tile], (task, _, scratch) =>
            {
                int b = task / perImage, i = 2 * (task % perImage) + parity, slot = b * sourceRows + i;
                if (firstRow[i] == firstRow[i + 1]) return scratch;
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
                    IgnoreIndex = ignoreIndex,
                    UnknownLabel = ignoreIndex,
                };
                fixed (float* buffer = scratch)
                    losses[slot] = job.Rows<TLanes, TVector>(firstRow[i], firstRow[i + 1], taps, columns, label + b * height * width, buffer);
                labelled[slot] = job.Labelled;
                unknown[slot] = job.UnknownLabel;
                return scratch;
            }, _ => { });
        }

        double loss = 0;
        long count = 0;
        long? unknownLabel = null;
        for (int slot = 0; slot < losses.Length; slot++)
        {
            loss += losses[slot];
            count += labelled[slot];
            if (unknown[slot] != ignoreIndex) unknownLabel ??= unknown[slot];
        }
        return new RowSums(loss, count, unknownLabel);
    }

    /// <summary>One task's two source rows (each class's <see cref="ClassStride"/> floats after the previous one's) and the gradient rows it adds to.</summary>
    private unsafe struct RowJob
    {
        public float* Upper, Lower, UpperGradient, LowerGradient;
        public long ClassStride;
        public int Classes;
        public long Width;
        public long IgnoreIndex;
        public long Labelled;
        public long UnknownLabel;

        /// <summary>Output rows [first, end) in tiles of columns; returns their loss sum.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Rows<TLanes, TVector>(int first, int end, (int Index0, int Index1, float Weight0, float Weight1)[] taps, int columns, long* labels, float* scratch)
            where TLanes : struct, ILanes<TVector> where TVector : struct
        {
            double sum = 0;
            for (int x0 = 0; x0 < columns; x0 += Tile)
            {
                int tile = Math.Min(Tile, columns - x0);
                for (int y = first; y < end; y++)
                    sum += Row<TLanes, TVector>(x0, tile, taps[y].Weight0, taps[y].Weight1, labels + y * Width, scratch);
            }
            return sum;
        }

        /// <summary>Columns [x0, x0 + tile) of one output row blended as w0 · upper + w1 · lower; returns the row's loss sum.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private double Row<TLanes, TVector>(int x0, int tile, float w0, float w1, long* labels, float* scratch)
            where TLanes : struct, ILanes<TVector> where TVector : struct
        {
            int lanes = TLanes.Count;
            float* max = scratch + Classes * Tile, total = max + Tile, factor = total + Tile;
            var a = TLanes.Splat(w0);
            var c = TLanes.Splat(w1);
            // Class by class, so that each pass reads and writes whole rows in order: the logits and their maximum, then
            // the exponentials and their sum.
            for (int x = 0; x < tile; x += lanes)
            {
                TLanes.Store(max + x, TLanes.Splat(float.NegativeInfinity));
                TLanes.Store(total + x, TLanes.Splat(0f));
            }
            for (int k = 0; k < Classes; k++)
            {
                float* upper = Upper + k * ClassStride + x0, lower = Lower + k * ClassStride + x0, z = scratch + k * Tile;
                for (int x = 0; x < tile; x += lanes)
                {
                    var value = TLanes.MultiplyAdd(a, TLanes.Load(upper + x), TLanes.Multiply(c, TLanes.Load(lower + x)));
                    TLanes.Store(z + x, value);
                    TLanes.Store(max + x, TLanes.Max(TLanes.Load(max + x), value));
                }
            }
            for (int k = 0; k < Classes; k++)
            {
                float* z = scratch + k * Tile;
                for (int x = 0; x < tile; x += lanes)
                {
                    var e = Exp<TLanes, TVector>(TLanes.Subtract(TLanes.Load(z + x), TLanes.Load(max + x)));
                    TLanes.Store(z + x, e);
                    TLanes.Store(total + x, TLanes.Add(TLanes.Load(total + x), e));
                }
            }

            // Pixel by pixel: the loss log Σ eᶻ − z_label, and the factor 1 / Σ eᶻ that turns exponentials into softmax
            // (0 for unlabelled pixels, whose gradient is 0).
            double loss = 0;
            for (int x = 0; x < tile; x++)
            {
                long column = x0 + x;
                long t = column < Width ? labels[column] : IgnoreIndex;
                factor[x] = 0;
                if (t == IgnoreIndex) continue;
                if ((ulong)t >= (ulong)Classes)
                {
                    UnknownLabel = t;
                    continue;
                }
                float zt = w0 * Upper[t * ClassStride + column] + w1 * Lower[t * ClassStride + column];
                loss += max[x] + MathF.Log(total[x]) - zt;
                factor[x] = 1f / total[x];
                Labelled++;
            }

            // softmax − one-hot, folded into the two source rows with the blend's weights.
            for (int k = 0; k < Classes; k++)
            {
                float* e = scratch + k * Tile, upper = UpperGradient + k * ClassStride + x0, lower = LowerGradient + k * ClassStride + x0;
                for (int x = 0; x < tile; x += lanes)
                {
                    var g = TLanes.Multiply(TLanes.Load(e + x), TLanes.Load(factor + x));
                    TLanes.Store(upper + x, TLanes.MultiplyAdd(a, g, TLanes.Load(upper + x)));
                    TLanes.Store(lower + x, TLanes.MultiplyAdd(c, g, TLanes.Load(lower + x)));
                }
            }
            for (int x = 0; x < tile; x++)
            {
                if (factor[x] == 0) continue;
                long column = x0 + x, t = labels[column];
                UpperGradient[t * ClassStride + column] -= w0;
                LowerGradient[t * ClassStride + column] -= w1;
            }
            return loss;
        }
    }

    /// <summary>
    /// eˣ for x ≤ 0 to within 2 ulp: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts), eʳ by its Taylor polynomial
    /// to r⁷ (remainder below 10⁻⁸ of the result), times 2ⁿ made in the exponent bits. Below −87.3 the result is the
    /// smallest normal float rather than 0, which changes no sum of softmax terms.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector Exp<TLanes, TVector>(TVector x) where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        x = TLanes.Max(x, TLanes.Splat(-87.3365f));
        var n = TLanes.Round(TLanes.Multiply(x, TLanes.Splat(1.44269504f)));
        var r = TLanes.MultiplyAdd(n, TLanes.Splat(-0.693145752f), x);
        r = TLanes.MultiplyAdd(n, TLanes.Splat(-1.42860677e-6f), r);
        var p = TLanes.Splat(1f / 5040);
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1f / 720));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1f / 120));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1f / 24));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1f / 6));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(0.5f));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1f));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1f));
        return TLanes.TimesPowerOfTwo(p, n);
    }

    /// <summary>The kernel's eˣ applied to <paramref name="values"/> (a multiple of 16 long) with vectors of <paramref name="lanes"/> floats.</summary>
    internal static float[] Exp(float[] values, int lanes) => lanes switch
    {
        16 => Exp<Lanes512, Vector512<float>>(values),
        8 => Exp<Lanes256, Vector256<float>>(values),
        _ => Exp<Lanes128, Vector128<float>>(values),
    };

    private static unsafe float[] Exp<TLanes, TVector>(float[] values) where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        var result = new float[values.Length];
        fixed (float* x = values, y = result)
            for (int i = 0; i + TLanes.Count <= values.Length; i += TLanes.Count)
                TLanes.Store(y + i, Exp<TLanes, TVector>(TLanes.Load(x + i)));
        return result;
    }
}
