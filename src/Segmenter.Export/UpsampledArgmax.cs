using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using Segmenter.Runtime.Vectors;

namespace Segmenter.Export;

/// <summary>
/// The class of each pixel of logits that are never made: the argmax over classes of class maps [B, K, h, w] upsampled
/// as an export's graph upsamples them, logits = rows · (maps · columnsᵀ) with its interpolation matrices rows [H, h]
/// and columns [W, w]. Each upsampled value is summed over the matrices' non-zero span in ascending order with fused
/// multiply-adds, as a matrix product's kernel sums it (the zeros outside that span add nothing), so the labels are those
/// of the graph's logits; the K maps at full size (157 MB for 150 classes at 512²) are never written, and the horizontal
/// pass, K·h rows of W values, stays in the cache while the vertical pass and the argmax read it.
/// </summary>
internal static class UpsampledArgmax
{
    private const int Band = 8;        // output rows per job
    private const int Stretch = 256;   // output columns the argmax keeps its best values for at a time

    /// <summary>The sizes of one call: maps [Batch, Classes, PatchRows, PatchColumns] to labels [Batch, Height, Width].</summary>
    public readonly record struct Shape(int Batch, int Classes, int PatchRows, int PatchColumns, int Height, int Width);

    /// <summary>
    /// Writes the labels [B, H, W] (uint8 when <paramref name="bytes"/>, else int64) at <paramref name="labels"/>, from maps
    /// [B, K, h, w], rows [H, h] and columns [W, w] (float32, row-major), on up to <paramref name="threads"/> threads
    /// (0: every core; 1: the calling thread alone). Ties go to the first class, as ArgMax and torch.argmax.
    /// </summary>
    public static unsafe void Labels(Shape shape, float* maps, float* rows, float* columns, void* labels, bool bytes, int threads, int lanes = -1)
    {
        switch (lanes < 0 ? Lanes.Widest : lanes)
        {
            case 16: Run<Lanes512, Vector512<float>>(shape, maps, rows, columns, labels, bytes, threads); break;
            case 8: Run<Lanes256, Vector256<float>>(shape, maps, rows, columns, labels, bytes, threads); break;
            default: Run<Lanes128, Vector128<float>>(shape, maps, rows, columns, labels, bytes, threads); break;
        }
    }

    private static unsafe void Run<TLanes, TVector>(Shape shape, float* maps, float* rows, float* columns, void* labels, bool bytes, int threads)
        where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        int lanes = TLanes.Count;
        int stride = (shape.Width + lanes - 1) / lanes * lanes;   // rows of the horizontal pass, padded to whole vectors
        int vectors = stride / lanes;
        var plan = new Plan(shape, stride);
        // columnsT [w, stride]: column x of the horizontal product, zero in the padding.
        var columnsT = ArrayPool<float>.Shared.Rent(shape.PatchColumns * stride);
        var vectorSpan = new int[2 * vectors];   // per vector of columns: the first and last patch column any of its lanes reads
        var rowSpan = new int[2 * shape.Height];
        var horizontal = ArrayPool<float>.Shared.Rent(shape.Classes * shape.PatchRows * stride);
        try
        {
            Array.Clear(columnsT, 0, shape.PatchColumns * stride);
            for (int x = 0; x < shape.Width; x++)
            {
                for (int j = 0; j < shape.PatchColumns; j++) columnsT[j * stride + x] = columns[(long)x * shape.PatchColumns + j];
            }
            for (int v = 0; v < vectors; v++)
            {
                int first = int.MaxValue, last = -1;
                for (int x = v * lanes; x < Math.Min(shape.Width, (v + 1) * lanes); x++)
                {
                    var (a, b) = NonZeroSpan(columns + (long)x * shape.PatchColumns, shape.PatchColumns);
                    first = Math.Min(first, a);
                    last = Math.Max(last, b);
                }
                (vectorSpan[2 * v], vectorSpan[2 * v + 1]) = last < 0 ? (0, -1) : (first, last);
            }
            for (int y = 0; y < shape.Height; y++) (rowSpan[2 * y], rowSpan[2 * y + 1]) = NonZeroSpan(rows + (long)y * shape.PatchRows, shape.PatchRows);

            fixed (float* columnsTp = columnsT)
            fixed (float* horizontalp = horizontal)
            fixed (int* vectorSpanp = vectorSpan)
            fixed (int* rowSpanp = rowSpan)
            {
                IntPtr mapsAt = (IntPtr)maps, rowsAt = (IntPtr)rows, labelsAt = (IntPtr)labels;
                IntPtr columnsTAt = (IntPtr)columnsTp, horizontalAt = (IntPtr)horizontalp, vectorSpanAt = (IntPtr)vectorSpanp, rowSpanAt = (IntPtr)rowSpanp;
                int mapRows = shape.Classes * shape.PatchRows, bands = (shape.Height + Band - 1) / Band;
                for (int image = 0; image < shape.Batch; image++)
                {
                    int b = image;
                    // The horizontal pass: each row of each class map across the output's width.
                    For(mapRows, threads, row => HorizontalRow<TLanes, TVector>(plan,
                        (float*)mapsAt + ((long)b * mapRows + row) * shape.PatchColumns, (float*)columnsTAt, (int*)vectorSpanAt, (float*)horizontalAt + (long)row * stride));
                    // The vertical pass and the argmax, a band of output rows at a time.
                    For(bands, threads, band => VerticalArgmax<TLanes, TVector>(plan, (float*)horizontalAt, (float*)rowsAt, (int*)rowSpanAt,
                        band * Band, Math.Min(shape.Height, (band + 1) * Band), labelsAt, (long)b * shape.Height * shape.Width, bytes));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(columnsT);
            ArrayPool<float>.Shared.Return(horizontal);
        }
    }

    private sealed record Plan(Shape Shape, int Stride);

    /// <summary>The first and last index of a non-zero weight in <paramref name="weights"/>; (0, −1) when there is none.</summary>
    private static unsafe (int First, int Last) NonZeroSpan(float* weights, int count)
    {
        int first = -1, last = -1;
        for (int i = 0; i < count; i++)
        {
            if (weights[i] == 0) continue;
            if (first < 0) first = i;
            last = i;
        }
        return first < 0 ? (0, -1) : (first, last);
    }

    private static void For(int count, int threads, Action<int> body)
    {
        if (threads == 1 || count == 1)
        {
            for (int i = 0; i < count; i++) body(i);   // on the calling thread, at its priority
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount }, body);
    }

    /// <summary>One output row of maps · columnsᵀ: each vector of columns summed over the patch columns its lanes read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HorizontalRow<TLanes, TVector>(Plan plan, float* map, float* columnsT, int* vectorSpan, float* target)
        where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        int stride = plan.Stride;
        for (int x = 0, v = 0; x < stride; x += TLanes.Count, v++)
        {
            var sum = TLanes.Splat(0);
            for (int j = vectorSpan[2 * v], last = vectorSpan[2 * v + 1]; j <= last; j++)
                sum = TLanes.MultiplyAdd(TLanes.Splat(map[j]), TLanes.Load(columnsT + (long)j * stride + x), sum);
            TLanes.Store(target + x, sum);
        }
    }

    /// <summary>
    /// Output rows [<paramref name="top"/>, <paramref name="bottom"/>) of one image: each class's upsampled row, summed
    /// over the patch rows it reads, against the best so far, over stretches of columns that keep the best values and
    /// their classes in the first-level cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void VerticalArgmax<TLanes, TVector>(Plan plan, float* horizontal, float* rows, int* rowSpan, int top, int bottom, IntPtr labels, long offset, bool bytes)
        where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        var shape = plan.Shape;
        int stride = plan.Stride, lanes = TLanes.Count;
        long classStride = (long)shape.PatchRows * stride;
        float* best = stackalloc float[Stretch];
        float* index = stackalloc float[Stretch];
        for (int start = 0; start < stride; start += Stretch)
        {
            int end = Math.Min(stride, start + Stretch), width = Math.Min(shape.Width, end) - start;
            for (int y = top; y < bottom; y++)
            {
                int first = rowSpan[2 * y], last = rowSpan[2 * y + 1];
                float* weights = rows + (long)y * shape.PatchRows;
                for (int k = 0; k < shape.Classes; k++)
                {
                    float* source = horizontal + k * classStride + start;
                    var classVector = TLanes.Splat(k);
                    for (int x = 0; x < end - start; x += lanes)
                    {
                        var sum = TLanes.Splat(0);
                        for (int i = first; i <= last; i++) sum = TLanes.MultiplyAdd(TLanes.Splat(weights[i]), TLanes.Load(source + (long)i * stride + x), sum);
                        if (k == 0)
                        {
                            TLanes.Store(best + x, sum);
                            TLanes.Store(index + x, classVector);
                            continue;
                        }
                        var current = TLanes.Load(best + x);
                        var greater = TLanes.GreaterThan(sum, current);
                        TLanes.Store(best + x, TLanes.Select(greater, sum, current));
                        TLanes.Store(index + x, TLanes.Select(greater, classVector, TLanes.Load(index + x)));
                    }
                }
                LabelsOutput.Write(labels, bytes, offset + (long)y * shape.Width + start, new ReadOnlySpan<float>(index, width));
            }
        }
    }
}
