using System;
using System.Numerics;
using System.Threading.Tasks;

namespace Segmenter.Runtime;

/// <summary>The kernel of <see cref="Resize.BilinearArgmax"/>: the argmax over classes of bilinearly upsampled maps, never made.</summary>
internal static class ResizedArgmax
{
    /// <summary>Output rows per task: each task interpolates the source rows it reads once.</summary>
    private const int Band = 64;

    /// <summary>Labels [H, W] (int64) at <paramref name="labels"/> from maps [K, h, w] (float32, contiguous) at <paramref name="maps"/>.</summary>
    public static unsafe void Labels(int classes, int inHeight, int inWidth, int height, int width, IntPtr maps, IntPtr labels)
    {
        var rowTaps = Resize.LinearTaps(inHeight, height);
        var columnTaps = Resize.LinearTaps(inWidth, width);
        int lanes = Vector<float>.Count, stride = (width + lanes - 1) / lanes * lanes;
        int bands = (height + Band - 1) / Band;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, TorchSharp.torch.get_num_threads()) };
        // Each worker keeps its buffers (2 × K × width floats and a row's best values) for all the bands it takes, and the two
        // source rows they hold stay valid from one band to the next.
        Parallel.For(0, bands, parallel, () => new Rows(classes, stride), (band, _, rows) =>
        {
            var source = (float*)maps;
            var output = (long*)labels;
            for (int y = band * Band; y < Math.Min(height, (band + 1) * Band); y++)
            {
                var (index0, index1, weight0, weight1) = rowTaps[y];
                if (rows.UpperRow != index0)
                {
                    if (rows.LowerRow == index0) rows.Swap();
                    else { Horizontal(source, classes, inHeight, inWidth, index0, columnTaps, stride, rows.Upper); rows.UpperRow = index0; }
                }
                if (rows.LowerRow != index1) { Horizontal(source, classes, inHeight, inWidth, index1, columnTaps, stride, rows.Lower); rows.LowerRow = index1; }
                var best = rows.Best;
                var argmax = rows.Argmax;
                Array.Fill(best, float.NegativeInfinity);
                Array.Clear(argmax);
                var a = new Vector<float>(weight0);
                var b = new Vector<float>(weight1);
                for (int k = 0; k < classes; k++)
                {
                    var kVector = new Vector<int>(k);
                    var top = new ReadOnlySpan<float>(rows.Upper, k * stride, stride);
                    var bottom = new ReadOnlySpan<float>(rows.Lower, k * stride, stride);
                    for (int x = 0; x < stride; x += lanes)
                    {
                        var value = a * new Vector<float>(top.Slice(x)) + b * new Vector<float>(bottom.Slice(x));
                        var current = new Vector<float>(best, x);
                        var greater = Vector.GreaterThan(value, current);   // strictly: ties keep the first class
                        Vector.Max(current, value).CopyTo(best, x);
                        Vector.ConditionalSelect(greater, kVector, new Vector<int>(argmax, x)).CopyTo(argmax, x);
                    }
                }
                long* row = output + (long)y * width;
                for (int x = 0; x < width; x++) row[x] = argmax[x];
            }
            return rows;
        }, _ => { });
    }

    /// <summary>A worker's two source rows of every class, interpolated along the width and padded to whole vectors, which rows they are, and one output row's best values.</summary>
    private sealed class Rows(int classes, int stride)
    {
        public float[] Upper = new float[classes * stride], Lower = new float[classes * stride];
        public int UpperRow = -1, LowerRow = -1;
        public readonly float[] Best = new float[stride];
        public readonly int[] Argmax = new int[stride];

        public void Swap()
        {
            (Upper, Lower) = (Lower, Upper);
            (UpperRow, LowerRow) = (LowerRow, UpperRow);
        }
    }

    /// <summary>Source row <paramref name="sourceRow"/> of every class interpolated along the width into <paramref name="into"/> [K, stride].</summary>
    private static unsafe void Horizontal(float* maps, int classes, int inHeight, int inWidth, int sourceRow, (int Index0, int Index1, float Weight0, float Weight1)[] taps, int stride, float[] into)
    {
        for (int k = 0; k < classes; k++)
        {
            float* row = maps + ((long)k * inHeight + sourceRow) * inWidth;
            int offset = k * stride;
            for (int x = 0; x < taps.Length; x++) into[offset + x] = taps[x].Weight0 * row[taps[x].Index0] + taps[x].Weight1 * row[taps[x].Index1];
        }
    }
}
