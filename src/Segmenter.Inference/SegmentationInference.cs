using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Inference;

/// <summary>Whole-image, sliding-window and multi-scale inference, as the authors' code runs them.</summary>
public static class SegmentationInference
{
    /// <summary>
    /// Class probabilities [1, K, H, W] (softmax) for one normalised image [1, 3, H, W] at its original size.
    /// The model runs in evaluation mode without autograd.
    /// </summary>
    public static Tensor Probabilities(SegmenterModel model, Tensor image, InferenceOptions options)
    {
        model.eval();
        using var noGrad = no_grad();
        return Probabilities(model.call, image, options);
    }

    /// <summary>
    /// Class probabilities [1, K, H, W] for one normalised image [1, 3, H, W], with <paramref name="logitsOf"/>
    /// mapping a batch of images to logits at their size (a model, or an ONNX Runtime session).
    /// </summary>
    public static Tensor Probabilities(Func<Tensor, Tensor> logitsOf, Tensor image, InferenceOptions options)
    {
        CheckOneImage(image);
        if (options.Mode != InferenceMode.MultiScale)
        {
            using var logits = Logits(logitsOf, image, options);
            return logits.softmax(1);
        }

        // Each scale is rescaled once and run plain and flipped; only the running sum outlives a run.
        using var scope = NewDisposeScope();
        long height = image.shape[2], width = image.shape[3];
        Tensor? sum = null;
        foreach (var scale in InferenceOptions.Scales)
        {
            using var scaleScope = NewDisposeScope();
            var input = Rescale(image, options.TestShortSide is { } side ? side * scale : (double?)null, scale);
            foreach (var flip in new[] { false, true })
            {
                using var runScope = NewDisposeScope();
                var logits = SlideLogits(logitsOf, flip ? input.flip(3) : input, options.WindowSize, options.WindowStride, options.WindowBatch);
                logits = Resize.Bilinear(logits, height, width);
                if (flip) logits = logits.flip(3);
                var probabilities = logits.softmax(1);
                if (sum is null) sum = probabilities.MoveToOtherDisposeScope(scope);
                else sum.PlusInPlace(probabilities);
            }
        }
        return sum!.div_(Scalars.Of(2.0 * InferenceOptions.Scales.Count)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits [1, K, H, W] of a whole-image or sliding-window run over one normalised image [1, 3, H, W]
    /// (rescaled first when the options ask for a test size, and the logits resized back to the image's size).
    /// </summary>
    public static Tensor Logits(Func<Tensor, Tensor> logitsOf, Tensor image, InferenceOptions options)
    {
        CheckOneImage(image);
        if (options.Mode == InferenceMode.MultiScale)
            throw new ArgumentException("multi-scale inference averages probabilities, not logits: use Probabilities");
        using var scope = NewDisposeScope();
        var input = Rescale(image, options.TestShortSide, 1.0);
        var logits = options.Mode == InferenceMode.Whole ? logitsOf(input) : SlideLogits(logitsOf, input, options.WindowSize, options.WindowStride, options.WindowBatch);
        return Resize.Bilinear(logits, image.shape[2], image.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The size an image of <paramref name="height"/> × <paramref name="width"/> is run at: its own when it has at most
    /// <paramref name="maxPixels"/> pixels (as whole and slide inference run it); else, as the authors' test pipeline rescales images,
    /// the same aspect with the short side at <paramref name="window"/> (the model's training size), or smaller where that
    /// would still exceed the limit (each side at least 1).
    /// </summary>
    public static (int Height, int Width) RunSize(int height, int width, long maxPixels, int window)
    {
        long pixels = (long)height * width;
        if (pixels <= maxPixels) return (height, width);
        double scale = Math.Min((double)window / Math.Min(height, width), Math.Sqrt((double)maxPixels / pixels));
        int h = Math.Max(1, (int)Math.Floor(height * scale + 1e-9)), w = Math.Max(1, (int)Math.Floor(width * scale + 1e-9));
        while ((long)h * w > maxPixels) { if (h >= w) h--; else w--; }   // floating-point rounding at the edge
        return (h, w);
    }

    private static void CheckOneImage(Tensor image)
    {
        if (image.dim() != 4 || image.shape[0] != 1) throw new ArgumentException($"expected one image [1, 3, H, W], got [{string.Join(", ", image.shape)}]");
    }

    /// <summary>
    /// Logits [1, K, H', W'] of a sliding window over <paramref name="image"/> [1, 3, H', W']: an image whose short side is
    /// below the window is first upsampled so it equals the window; windows start at every multiple of the stride below
    /// size − window, and at size − window; their logits are summed and divided by the per-pixel count.
    /// </summary>
    public static Tensor SlideLogits(Func<Tensor, Tensor> logitsOf, Tensor image, int window, int stride, int batch = 4)
    {
        InferenceOptions.CheckWindow(window, stride);
        using var scope = NewDisposeScope();
        image = UpsampleShortSide(image, window);
        long height = image.shape[2], width = image.shape[3];
        var rows = Starts(height, window, stride);
        var columns = Starts(width, window, stride);
        var anchors = rows.SelectMany(r => columns.Select(c => (r, c))).ToList();

        Tensor? sum = null;
        var count = zeros(new long[] { 1, 1, height, width }, device: image.device);
        for (int first = 0; first < anchors.Count; first += batch)
        {
            using var chunkScope = NewDisposeScope();   // this chunk's crops and logits
            var chunk = anchors.Skip(first).Take(batch).ToList();
            var crops = cat(chunk.Select(a => image.narrow(2, a.r, window).narrow(3, a.c, window)).ToArray(), 0);
            var logits = logitsOf(crops);
            sum ??= zeros(new long[] { 1, logits.shape[1], height, width }, device: image.device).MoveToOtherDisposeScope(scope);
            for (int i = 0; i < chunk.Count; i++)
            {
                var (r, c) = chunk[i];
                sum.narrow(2, r, window).narrow(3, c, window).PlusInPlace(logits.narrow(0, i, 1));
                count.narrow(2, r, window).narrow(3, c, window).add_(Scalars.One);
            }
        }
        return sum!.div_(count).MoveToOuterDisposeScope();
    }

    /// <summary>Window starts along one axis: multiples of <paramref name="stride"/> below size − window, then size − window.</summary>
    public static IReadOnlyList<long> Starts(long size, int window, int stride)
    {
        var starts = new List<long>();
        for (long s = 0; s < size - window; s += stride) starts.Add(s);
        starts.Add(Math.Max(0, size - window));
        return starts;
    }

    /// <summary>The image upsampled (bilinear) so that its short side equals <paramref name="side"/>, if it is shorter.</summary>
    public static Tensor UpsampleShortSide(Tensor image, int side)
    {
        long height = image.shape[2], width = image.shape[3];
        if (Math.Min(height, width) >= side) return image;
        long newHeight, newWidth;
        if (height < width)
        {
            newHeight = side;
            newWidth = (long)((double)width / height * side);
        }
        else
        {
            newWidth = side;
            newHeight = (long)((double)height / width * side);
        }
        return Resize.Bilinear(image, newHeight, newWidth);
    }

    /// <summary>
    /// Rescales keeping the aspect ratio so the short side is <paramref name="shortSide"/> and the long side at most
    /// 4 × that (mmsegmentation's keep-ratio resize); without a short side, scales by <paramref name="scale"/>.
    /// </summary>
    private static Tensor Rescale(Tensor image, double? shortSide, double scale)
    {
        long height = image.shape[2], width = image.shape[3];
        double factor = shortSide is { } s
            ? Math.Min(4 * s / Math.Max(height, width), s / Math.Min(height, width))
            : scale;
        if (Math.Abs(factor - 1) < 1e-9) return image;
        long newHeight = Math.Max(1, (long)Math.Round(height * factor)), newWidth = Math.Max(1, (long)Math.Round(width * factor));
        return Resize.Bilinear(image, newHeight, newWidth);
    }
}
