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

    /// <summary>
    /// Vectors a run's passes over its rows take side by side (<see cref="Tile"/> and the kernel's columns are whole blocks
    /// of them): each vector's exponentials are a chain of products from row to row, and four chains keep the core busy
    /// where one would wait on each product.
    /// </summary>
    private const int VectorBlock = 4;

    /// <summary>Runs shorter than this take each row's exponentials directly: a run costs two exponentials per class.</summary>
    private const int ShortestRun = 3;

    /// <summary>
    /// The most rows a run takes: the last row's exponentials are the first's times e^δ that many times less one, so
    /// their rounding errors add up over a run (longer runs are split).
    /// </summary>
    private const int LongestRun = 16;

    /// <summary>
    /// The spread below the largest logit of a run that its exponentials may reach: e⁻⁸⁰ is still a normal float, so
    /// no exponential of the run is rounded to zero or denormal.
    /// </summary>
    private const float LargestSpread = 80f;

    /// <summary>The columns the kernel computes for rows of <paramref name="width"/>: the width rounded up to whole blocks of <see cref="VectorBlock"/> vectors.</summary>
    private static long KernelColumns(long width, int lanes)
    {
        long block = VectorBlock * lanes;
        return (width + block - 1) / block * block;
    }

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
        int columns = (int)KernelColumns(width, TLanes.Count);
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
            Parallel.For(0, batch * perImage, parallel, () => new float[(2 * classes + 2 + 2 * LongestRun) * Tile], (task, _, scratch) =>
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

        /// <summary>
        /// Output rows [first, end) in tiles of columns; returns their loss sum. Rows whose blend weights step evenly (all
        /// but the clamped edges of an upsampling) are taken as runs (<see cref="Run{TLanes, TVector}"/>), the others one by one.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Rows<TLanes, TVector>(int first, int end, (int Index0, int Index1, float Weight0, float Weight1)[] taps, int columns, long* labels, float* scratch)
            where TLanes : struct, ILanes<TVector> where TVector : struct
        {
            double sum = 0;
            for (int x0 = 0; x0 < columns; x0 += Tile)
            {
                int tile = Math.Min(Tile, columns - x0);
                for (int y = first; y < end;)
                {
                    int run = EvenRun(taps, y, end);
                    if (run >= ShortestRun && Run<TLanes, TVector>(x0, tile, y, run, taps, labels, scratch, ref sum))
                    {
                        y += run;
                        continue;
                    }
                    for (int last = y + Math.Max(1, run - 1); y < last; y++)   // a run's last row can start the next one
                        sum += Row<TLanes, TVector>(x0, tile, taps[y].Weight0, taps[y].Weight1, labels + y * Width, scratch);
                }
            }
            return sum;
        }

        /// <summary>The number of rows from <paramref name="y"/> (before <paramref name="end"/>) whose weights change by the same step from row to row.</summary>
        private static int EvenRun((int Index0, int Index1, float Weight0, float Weight1)[] taps, int y, int end)
        {
            if (end - y < 2) return end - y;
            double step0 = taps[y + 1].Weight0 - taps[y].Weight0, step1 = taps[y + 1].Weight1 - taps[y].Weight1;
            int last = y + 1;
            while (last + 1 < end && last + 1 - y < LongestRun
                   && Math.Abs(taps[last + 1].Weight0 - taps[last].Weight0 - step0) <= 1e-6
                   && Math.Abs(taps[last + 1].Weight1 - taps[last].Weight1 - step1) <= 1e-6)
                last++;
            return last - y + 1;
        }

        /// <summary>
        /// Columns [x0, x0 + tile) of <paramref name="count"/> (at most <see cref="LongestRun"/>) output rows from
        /// <paramref name="y"/> whose blend weights step evenly. Each class's logit then changes by the same amount δ from
        /// one row to the next, so its exponential is the previous row's times e^δ: two exponentials per class for the
        /// whole run instead of one per row, all taken against one maximum (the largest logit at either end of the run,
        /// which no row in between exceeds). The rows' gradients are summed in registers and added to the two source rows
        /// once. Adds the rows' loss to <paramref name="sum"/> and returns true; returns false, with nothing done, where
        /// some class's logits fall more than <see cref="LargestSpread"/> below that maximum.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool Run<TLanes, TVector>(int x0, int tile, int y, int count, (int Index0, int Index1, float Weight0, float Weight1)[] taps, long* labels, float* scratch, ref double sum)
            where TLanes : struct, ILanes<TVector> where TVector : struct
        {
            int lanes = TLanes.Count;
            float* ratio = scratch + Classes * Tile, max = ratio + Classes * Tile, least = max + Tile, totals = least + Tile, factors = totals + LongestRun * Tile;
            var (_, _, first0, first1) = taps[y];
            var (_, _, last0, last1) = taps[y + count - 1];
            var a = TLanes.Splat(first0);
            var c = TLanes.Splat(first1);
            var aLast = TLanes.Splat(last0);
            var cLast = TLanes.Splat(last1);
            var step0 = TLanes.Splat((float)(((double)last0 - first0) / (count - 1)));
            var step1 = TLanes.Splat((float)(((double)last1 - first1) / (count - 1)));

            // Each class's logits at both ends of the run and its step; the largest and the smallest of them.
            for (int x = 0; x < tile; x += lanes)
            {
                TLanes.Store(max + x, TLanes.Splat(float.NegativeInfinity));
                TLanes.Store(least + x, TLanes.Splat(float.PositiveInfinity));
            }
            for (int k = 0; k < Classes; k++)
            {
                float* upper = Upper + k * ClassStride + x0, lower = Lower + k * ClassStride + x0, z = scratch + k * Tile, r = ratio + k * Tile;
                for (int x = 0; x < tile; x += lanes)
                {
                    var u = TLanes.Load(upper + x);
                    var l = TLanes.Load(lower + x);
                    var start = TLanes.MultiplyAdd(a, u, TLanes.Multiply(c, l));
                    var stop = TLanes.MultiplyAdd(aLast, u, TLanes.Multiply(cLast, l));
                    TLanes.Store(z + x, start);
                    TLanes.Store(r + x, TLanes.MultiplyAdd(step0, u, TLanes.Multiply(step1, l)));
                    TLanes.Store(max + x, TLanes.Max(TLanes.Load(max + x), TLanes.Max(start, stop)));
                    TLanes.Store(least + x, TLanes.Min(TLanes.Load(least + x), TLanes.Min(start, stop)));
                }
            }
            for (int x = 0; x < tile; x++)
                if (max[x] - least[x] > LargestSpread) return false;

            // The first row's exponentials, each class's factor e^δ from row to row, and every row's sum of exponentials.
            for (int x = 0; x < count * Tile; x += lanes) TLanes.Store(totals + x, TLanes.Splat(0f));
            for (int k = 0; k < Classes; k++)
            {
                float* z = scratch + k * Tile, r = ratio + k * Tile;
                for (int x = 0; x < tile; x += lanes)
                {
                    var value = TLanes.Subtract(TLanes.Load(z + x), TLanes.Load(max + x));
                    TLanes.Store(z + x, Exp<TLanes, TVector>(value));
                    TLanes.Store(r + x, Exp<TLanes, TVector>(TLanes.Load(r + x)));
                }
                for (int x = 0; x < tile; x += VectorBlock * lanes)
                {
                    TVector e0 = TLanes.Load(z + x), e1 = TLanes.Load(z + x + lanes), e2 = TLanes.Load(z + x + 2 * lanes), e3 = TLanes.Load(z + x + 3 * lanes);
                    TVector r0 = TLanes.Load(r + x), r1 = TLanes.Load(r + x + lanes), r2 = TLanes.Load(r + x + 2 * lanes), r3 = TLanes.Load(r + x + 3 * lanes);
                    for (float* total = totals + x; total < totals + count * Tile; total += Tile)
                    {
                        TLanes.Store(total, TLanes.Add(TLanes.Load(total), e0));
                        TLanes.Store(total + lanes, TLanes.Add(TLanes.Load(total + lanes), e1));
                        TLanes.Store(total + 2 * lanes, TLanes.Add(TLanes.Load(total + 2 * lanes), e2));
                        TLanes.Store(total + 3 * lanes, TLanes.Add(TLanes.Load(total + 3 * lanes), e3));
                        e0 = TLanes.Multiply(e0, r0);
                        e1 = TLanes.Multiply(e1, r1);
                        e2 = TLanes.Multiply(e2, r2);
                        e3 = TLanes.Multiply(e3, r3);
                    }
                }
            }

            for (int row = 0; row < count; row++)
            {
                var (_, _, w0, w1) = taps[y + row];
                sum += Loss(x0, tile, w0, w1, labels + (y + row) * Width, max, totals + row * Tile, factors + row * Tile);
            }

            // softmax − one-hot: each class's softmax summed over the rows with the blend's weights, and added to the two
            // source rows once; then each labelled pixel's one-hot part.
            for (int k = 0; k < Classes; k++)
            {
                float* z = scratch + k * Tile, r = ratio + k * Tile, upper = UpperGradient + k * ClassStride + x0, lower = LowerGradient + k * ClassStride + x0;
                for (int x = 0; x < tile; x += VectorBlock * lanes)
                {
                    TVector e0 = TLanes.Load(z + x), e1 = TLanes.Load(z + x + lanes), e2 = TLanes.Load(z + x + 2 * lanes), e3 = TLanes.Load(z + x + 3 * lanes);
                    TVector r0 = TLanes.Load(r + x), r1 = TLanes.Load(r + x + lanes), r2 = TLanes.Load(r + x + 2 * lanes), r3 = TLanes.Load(r + x + 3 * lanes);
                    TVector u0 = TLanes.Splat(0f), u1 = u0, u2 = u0, u3 = u0, l0 = u0, l1 = u0, l2 = u0, l3 = u0;
                    for (int row = 0; row < count; row++)
                    {
                        float* factor = factors + row * Tile + x;
                        var w0 = TLanes.Splat(taps[y + row].Weight0);
                        var w1 = TLanes.Splat(taps[y + row].Weight1);
                        var g0 = TLanes.Multiply(e0, TLanes.Load(factor));
                        var g1 = TLanes.Multiply(e1, TLanes.Load(factor + lanes));
                        var g2 = TLanes.Multiply(e2, TLanes.Load(factor + 2 * lanes));
                        var g3 = TLanes.Multiply(e3, TLanes.Load(factor + 3 * lanes));
                        u0 = TLanes.MultiplyAdd(w0, g0, u0);
                        u1 = TLanes.MultiplyAdd(w0, g1, u1);
                        u2 = TLanes.MultiplyAdd(w0, g2, u2);
                        u3 = TLanes.MultiplyAdd(w0, g3, u3);
                        l0 = TLanes.MultiplyAdd(w1, g0, l0);
                        l1 = TLanes.MultiplyAdd(w1, g1, l1);
                        l2 = TLanes.MultiplyAdd(w1, g2, l2);
                        l3 = TLanes.MultiplyAdd(w1, g3, l3);
                        e0 = TLanes.Multiply(e0, r0);
                        e1 = TLanes.Multiply(e1, r1);
                        e2 = TLanes.Multiply(e2, r2);
                        e3 = TLanes.Multiply(e3, r3);
                    }
                    TLanes.Store(upper + x, TLanes.Add(TLanes.Load(upper + x), u0));
                    TLanes.Store(upper + x + lanes, TLanes.Add(TLanes.Load(upper + x + lanes), u1));
                    TLanes.Store(upper + x + 2 * lanes, TLanes.Add(TLanes.Load(upper + x + 2 * lanes), u2));
                    TLanes.Store(upper + x + 3 * lanes, TLanes.Add(TLanes.Load(upper + x + 3 * lanes), u3));
                    TLanes.Store(lower + x, TLanes.Add(TLanes.Load(lower + x), l0));
                    TLanes.Store(lower + x + lanes, TLanes.Add(TLanes.Load(lower + x + lanes), l1));
                    TLanes.Store(lower + x + 2 * lanes, TLanes.Add(TLanes.Load(lower + x + 2 * lanes), l2));
                    TLanes.Store(lower + x + 3 * lanes, TLanes.Add(TLanes.Load(lower + x + 3 * lanes), l3));
                }
            }
            for (int row = 0; row < count; row++)
            {
                var (_, _, w0, w1) = taps[y + row];
                SubtractLabels(x0, tile, w0, w1, labels + (y + row) * Width, factors + row * Tile);
            }
            return true;
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

            double loss = Loss(x0, tile, w0, w1, labels, max, total, factor);

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
            SubtractLabels(x0, tile, w0, w1, labels, factor);
            return loss;
        }

        /// <summary>
        /// Pixel by pixel, for columns [x0, x0 + tile) of an output row blended as w0 · upper + w1 · lower whose exponentials
        /// e^(z − max) sum to <paramref name="total"/>: the loss log Σ eᶻ − z_label (returned, summed), and the factor 1 / Σ
        /// e^(z − max) that turns exponentials into softmax (0 for unlabelled pixels, whose gradient is 0).
        /// </summary>
        private double Loss(int x0, int tile, float w0, float w1, long* labels, float* max, float* total, float* factor)
        {
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
            return loss;
        }

        /// <summary>The one-hot part of softmax − one-hot: each labelled pixel's weights taken from its class's two source rows.</summary>
        private void SubtractLabels(int x0, int tile, float w0, float w1, long* labels, float* factor)
        {
            for (int x = 0; x < tile; x++)
            {
                if (factor[x] == 0) continue;
                long column = x0 + x, t = labels[column];
                UpperGradient[t * ClassStride + column] -= w0;
                LowerGradient[t * ClassStride + column] -= w1;
            }
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
