using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using Segmenter.Export;
using Segmenter.Runtime;
using Segmenter.Runtime.Vectors;
using static TorchSharp.torch;

namespace Segmenter.Serving.Batching;

/// <summary>
/// The class of each pixel, the argmax of the logits over the class axis: the first class with the highest logit, as
/// torch.argmax. libtorch reduces over that strided axis at about 0.6 s per gigabyte here; this walks each class's row
/// over blocks of pixels at the CPU's widest vectors, without a branch, keeping the best logit and class of the block's
/// pixels in the core's first-level cache, on every core.
/// </summary>
internal static class Argmax
{
    private const int Block = 1024;

    /// <summary>
    /// Labels [B, H, W] for logits [B, K, H, W]: uint8 up to 256 classes, else int64; on up to <paramref name="threads"/>
    /// threads (0: every core).
    /// </summary>
    public static Tensor Labels(Tensor logits, int threads = 0) => Labels(logits, Lanes.Widest, threads);

    /// <summary><see cref="Labels(Tensor, int)"/> with vectors of <paramref name="lanes"/> floats (16, 8 or 4; 0 for a scalar loop).</summary>
    internal static Tensor Labels(Tensor logits, int lanes, int threads)
    {
        if (logits.dim() != 4) throw new ArgumentException($"expected logits [B, K, H, W], got [{string.Join(", ", logits.shape)}]");
        int batch = (int)logits.shape[0], classes = (int)logits.shape[1];
        long pixels = logits.shape[2] * logits.shape[3];
        bool bytes = LabelsOutput.IsByte(classes);
        var labels = empty(new[] { logits.shape[0], logits.shape[2], logits.shape[3] }, bytes ? ScalarType.Byte : ScalarType.Int64);
        using var contiguous = logits.contiguous();
        // The addresses once for the whole run (a span cannot enter the parallel loop's lambda).
        IntPtr source = TensorMemory.Address(contiguous), target = TensorMemory.Address(labels);
        int blocks = (int)((pixels + Block - 1) / Block);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, batch * blocks, parallel, () => new float[2 * Block], (job, _, scratch) =>
        {
            int image = job / blocks;
            long start = (long)(job % blocks) * Block;
            int count = (int)Math.Min(Block, pixels - start);
            BlockArgmax(lanes, source, image, classes, pixels, start, count, scratch);
            LabelsOutput.Write(target, bytes, image * pixels + start, scratch.AsSpan(Block, count));
            return scratch;
        }, _ => { });
        return labels;
    }

    private static void BlockArgmax(int lanes, IntPtr logits, int image, int classes, long pixels, long start, int count, float[] scratch)
    {
        switch (lanes)
        {
            case 16: BlockArgmax<Lanes512, Vector512<float>>(logits, image, classes, pixels, start, count, scratch, vectors: true); break;
            case 8: BlockArgmax<Lanes256, Vector256<float>>(logits, image, classes, pixels, start, count, scratch, vectors: true); break;
            case 4: BlockArgmax<Lanes128, Vector128<float>>(logits, image, classes, pixels, start, count, scratch, vectors: true); break;
            default: BlockArgmax<Lanes128, Vector128<float>>(logits, image, classes, pixels, start, count, scratch, vectors: false); break;
        }
    }

    /// <summary>
    /// The argmax of <paramref name="count"/> pixels from <paramref name="start"/> of one image: the best logits in the
    /// first half of <paramref name="scratch"/>, their classes (as floats, exact below 2²⁴) in the second. With
    /// <paramref name="vectors"/>, whole vectors of pixels go through the vector loop; the rest go through a scalar one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BlockArgmax<TLanes, TVector>(IntPtr logits, int image, int classes, long pixels, long start, int count, float[] scratch, bool vectors)
        where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        int vectorEnd = vectors ? count - count % TLanes.Count : 0, end = count;
        float* origin = (float*)logits + ((long)image * classes * pixels + start);
        fixed (float* best = scratch)
        {
            float* index = best + Block;
            new ReadOnlySpan<float>(origin, end).CopyTo(new Span<float>(best, end));
            new Span<float>(index, end).Clear();
            for (int k = 1; k < classes; k++)
            {
                float* row = origin + k * pixels;
                var classVector = TLanes.Splat(k);
                for (int i = 0; i < vectorEnd; i += TLanes.Count)
                {
                    var value = TLanes.Load(row + i);
                    var current = TLanes.Load(best + i);
                    var greater = TLanes.GreaterThan(value, current);
                    TLanes.Store(best + i, TLanes.Select(greater, value, current));
                    TLanes.Store(index + i, TLanes.Select(greater, classVector, TLanes.Load(index + i)));
                }
                for (int i = vectorEnd; i < end; i++)
                {
                    if (row[i] > best[i])
                    {
                        best[i] = row[i];
                        index[i] = k;
                    }
                }
            }
        }
    }
}
