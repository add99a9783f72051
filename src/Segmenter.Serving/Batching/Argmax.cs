using System;
using System.Numerics;
using System.Threading.Tasks;
using Segmenter.Export;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Serving.Batching;

/// <summary>
/// The class of each pixel, the argmax of the logits over the class axis: the first class with the highest logit, as
/// torch.argmax. libtorch reduces over that strided axis at about 0.6 s per gigabyte here; this walks each class's row
/// over blocks of pixels with the CPU's vectors (whatever their width), on every core.
/// </summary>
internal static class Argmax
{
    private const int Block = 2048;

    /// <summary>Labels [B, H, W] for logits [B, K, H, W]: uint8 up to 256 classes, else int64.</summary>
    public static Tensor Labels(Tensor logits)
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
        Parallel.For(0, batch * blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new int[Block], (job, _, best) =>
        {
            int image = job / blocks;
            long start = (long)(job % blocks) * Block;
            int count = (int)Math.Min(Block, pixels - start);
            BlockArgmax(source, image, classes, pixels, start, count, best);
            Store(target, bytes, image * pixels + start, best.AsSpan(0, count));
            return best;
        }, _ => { });
        return labels;
    }

    /// <summary>Writes the class indices of one block at element <paramref name="offset"/> of the labels (uint8 or int64).</summary>
    private static unsafe void Store(IntPtr labels, bool bytes, long offset, ReadOnlySpan<int> classes)
    {
        if (bytes)
        {
            var target = new Span<byte>((byte*)labels + offset, classes.Length);
            for (int i = 0; i < classes.Length; i++) target[i] = (byte)classes[i];
        }
        else
        {
            var target = new Span<long>((long*)labels + offset, classes.Length);
            for (int i = 0; i < classes.Length; i++) target[i] = classes[i];
        }
    }

    /// <summary>The argmax of <paramref name="count"/> pixels from <paramref name="start"/> of one image, into <paramref name="index"/>.</summary>
    private static unsafe void BlockArgmax(IntPtr logits, int image, int classes, long pixels, long start, int count, int[] index)
    {
        Span<float> best = stackalloc float[Block];
        float* origin = (float*)logits + ((long)image * classes * pixels + start);
        new ReadOnlySpan<float>(origin, count).CopyTo(best);
        index.AsSpan(0, count).Clear();
        int width = Vector<float>.Count;
        int vectorEnd = count - count % width;
        for (int k = 1; k < classes; k++)
        {
            var row = new ReadOnlySpan<float>(origin + k * pixels, count);
            var classVector = new Vector<int>(k);
            int i = 0;
            for (; i < vectorEnd; i += width)
            {
                var v = new Vector<float>(row.Slice(i));
                var b = new Vector<float>(best.Slice(i));
                var greater = Vector.GreaterThan(v, b);
                if (greater == Vector<int>.Zero) continue;
                Vector.Max(v, b).CopyTo(best.Slice(i));
                Vector.ConditionalSelect(greater, classVector, new Vector<int>(index, i)).CopyTo(index, i);
            }
            for (; i < count; i++)
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
