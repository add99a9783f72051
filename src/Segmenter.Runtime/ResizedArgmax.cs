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
        Parallel.For(0, bands, parallel, band =>
        {
            // Two source rows of every class, interpolated along the width, padded to whole vectors; which rows they hold.
            var upper = new float[classes * stride];
            var lower = new float[classes * stride];
            int upperRow = -1, lowerRow = -1;
            var best = new float[stride];
            var argmax = new int[stride];
            var source = (float*)maps;
            var output = (long*)labels;
            for (int y = band * Band; y < Math.Min(height, (band + 1) * Band); y++)
            {
                var (index0, index1, weight0, weight1) = rowTaps[y];
                if (upperRow != index0)
                {
                    if (lowerRow == index0) { (upper, lower) = (lower, upper); (upperRow, lowerRow) = (lowerRow, upperRow); }
                    else { Horizontal(source, classes, inHeight, inWidth, index0, columnTaps, stride, upper); upperRow = index0; }
                }
                if (lowerRow != index1) { Horizontal(source, classes, inHeight, inWidth, index1, columnTaps, stride, lower); lowerRow = index1; }
                Array.Fill(best, float.NegativeInfinity);
                Array.Clear(argmax);
                var a = new Vector<float>(weight0);
                var b = new Vector<float>(weight1);
                for (int k = 0; k < classes; k++)
                {
                    var kVector = new Vector<int>(k);
                    var top = new ReadOnlySpan<float>(upper, k * stride, stride);
                    var bottom = new ReadOnlySpan<float>(lower, k * stride, stride);
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
        });
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
