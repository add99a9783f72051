using System;
using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>Resizing of class maps.</summary>
public static class Resize
{
    /// <summary>Interpolation matrices kept (a model's forward needs two per input size; evaluation sees many sizes).</summary>
    private const int CacheCapacity = 64;

    /// <summary>The largest interpolation matrix made (64 MB of float32; a 4096-pixel side upsampled from 512 takes 2M).</summary>
    private const long MaximumMatrix = 1L << 24;

    private static readonly ConcurrentDictionary<(long From, long To, bool Transposed, ScalarType Type, DeviceType Device, int Index), Tensor> Matrices = new();
    private static readonly ConcurrentQueue<(long, long, bool, ScalarType, DeviceType, int)> Order = new();

    /// <summary>
    /// Bilinear resize of [B, K, h, w] maps to [B, K, <paramref name="height"/>, <paramref name="width"/>], with
    /// PyTorch's align_corners = false semantics. Upsampling — the logits' last step, 150 maps to 512×512 —
    /// is done as two matrix products with interpolation matrices (Aₕ · X · Aᵥᵀ), which matrix-product
    /// libraries run several times faster than the interpolation kernel; the result is the same up to
    /// float rounding. Downsampling uses the interpolation kernel.
    /// </summary>
    public static Tensor Bilinear(Tensor maps, long height, long width)
    {
        long inHeight = maps.shape[2], inWidth = maps.shape[3];
        if (height == inHeight && width == inWidth) return maps.alias();
        // The matrices are dense: past MaximumMatrix elements (a very thin image upsampled, say 1×60000 to 32×1,920,000, whose
        // matrix alone would be 10¹¹ floats) the interpolation kernel, whose memory follows the output, does it.
        if (height < inHeight || width < inWidth || !maps.is_floating_point() || height * inHeight > MaximumMatrix || width * inWidth > MaximumMatrix)
            return nn.functional.interpolate(maps, new[] { height, width }, mode: InterpolationMode.Bilinear, align_corners: false);
        var rows = Matrix(inHeight, height, transposed: false, maps);       // [H, h]
        var columns = Matrix(inWidth, width, transposed: true, maps);       // [w, W]
        using var horizontal = maps.matmul(columns);                        // [B, K, h, W]
        return rows.matmul(horizontal);                                     // [B, K, H, W]
    }

    /// <summary>
    /// The class indices [<paramref name="height"/>, <paramref name="width"/>] (int64) of one image's float32 maps [1, K, h, w]
    /// upsampled bilinearly (align_corners = false, as <see cref="Bilinear"/>), without the upsampled maps: 150 classes at 12
    /// megapixels would take 7.2 GB, and on a server each fresh gigabyte is paid for in page faults. Each worker interpolates
    /// a source row of every class along the width once (K × width floats, kept while its output rows need it), then, output
    /// row by output row, blends its two source rows class by class and keeps the best class of each pixel in vectors
    /// (ties go to the first class, as torch.argmax). The values are <see cref="Bilinear"/>'s to float rounding, so a label
    /// can differ from the argmax of its maps only where two classes tie. Other dtypes and devices, and sizes that are not
    /// an upsampling in both directions, go through <see cref="Bilinear"/>.
    /// </summary>
    public static Tensor BilinearArgmax(Tensor maps, long height, long width)
    {
        if (maps.dim() != 4 || maps.shape[0] != 1) throw new ArgumentException($"expected the maps of one image [1, K, h, w], got [{string.Join(", ", maps.shape)}]");
        long inHeight = maps.shape[2], inWidth = maps.shape[3];
        using var scope = NewDisposeScope();
        if (height == inHeight && width == inWidth) return maps.argmax(1)[0].MoveToOuterDisposeScope();
        if (height < inHeight || width < inWidth || maps.dtype != ScalarType.Float32 || maps.device.type != DeviceType.CPU)
            return Bilinear(maps, height, width).argmax(1)[0].MoveToOuterDisposeScope();

        var source = maps.contiguous();
        var labels = empty(new[] { height, width }, ScalarType.Int64);
        ResizedArgmax.Labels((int)maps.shape[1], (int)inHeight, (int)inWidth, (int)height, (int)width, TensorMemory.Address(source), TensorMemory.Address(labels));
        return labels.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The [to, from] matrix of 1-D linear interpolation with half-pixel centres (source index clamped at 0, as
    /// PyTorch), or its transpose, from a small cache. Matrices pushed out of the cache are not disposed (a
    /// caller on another thread may still hold one); the garbage collector frees them.
    /// </summary>
    private static Tensor Matrix(long from, long to, bool transposed, Tensor like)
    {
        var key = (from, to, transposed, like.dtype, like.device.type, like.device.index);
        if (Matrices.TryGetValue(key, out var cached)) return cached;
        var created = Interpolation(from, to, transposed, like);
        var stored = Matrices.GetOrAdd(key, created);
        if (!ReferenceEquals(stored, created))
        {
            created.Dispose();
            return stored;
        }
        Order.Enqueue(key);
        while (Matrices.Count > CacheCapacity && Order.TryDequeue(out var oldest)) Matrices.TryRemove(oldest, out _);
        return created;
    }

    private static Tensor Interpolation(long from, long to, bool transposed, Tensor like)
    {
        var weights = new float[to * from];
        var taps = LinearTaps(from, to);
        for (long o = 0; o < to; o++)
        {
            weights[o * from + taps[o].Index0] += taps[o].Weight0;
            weights[o * from + taps[o].Index1] += taps[o].Weight1;
        }
        using var cpu = torch.tensor(weights, new[] { to, from });
        using var oriented = transposed ? cpu.t().contiguous() : cpu.alias();
        return oriented.to(like.dtype, like.device, copy: true).DetachFromDisposeScope();
    }

    /// <summary>
    /// The two source positions and their weights for each of <paramref name="to"/> outputs of 1-D linear interpolation
    /// from <paramref name="from"/> samples, with half-pixel centres and the source index clamped at 0 (PyTorch's
    /// align_corners = false). At the last sample both positions are the same.
    /// </summary>
    public static (int Index0, int Index1, float Weight0, float Weight1)[] LinearTaps(long from, long to)
    {
        if (from < 1 || to < 1) throw new ArgumentOutOfRangeException(nameof(from), $"interpolation needs at least one sample on each side, got {from} → {to}");
        var taps = new (int, int, float, float)[to];
        double scale = (double)from / to;
        for (long o = 0; o < to; o++)
        {
            double source = System.Math.Max(0.0, (o + 0.5) * scale - 0.5);
            long i0 = System.Math.Min((long)source, from - 1);
            long i1 = System.Math.Min(i0 + 1, from - 1);
            double lambda = source - i0;
            taps[o] = ((int)i0, (int)i1, (float)(1 - lambda), (float)lambda);
        }
        return taps;
    }
}
