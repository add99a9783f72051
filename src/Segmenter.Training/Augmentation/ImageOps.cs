using System;
using Segmenter.Inference.Imaging;
using SkiaSharp;

namespace Segmenter.Training.Augmentation;

/// <summary>Geometric operations on images (bilinear) and label maps (nearest: labels are never blended).</summary>
public static class ImageOps
{
    /// <summary>The image resized to <paramref name="width"/> × <paramref name="height"/> with bilinear filtering.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        if (width == image.Width && height == image.Height) return image;
        var rgba = image.ToRgba();
        using var source = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, source.GetPixels(), rgba.Length);
        using var resized = source.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None))
                            ?? throw new InvalidOperationException($"could not resize a {image.Width}×{image.Height} image to {width}×{height}");
        return RgbImage.FromRgba(width, height, resized.Bytes);
    }

    /// <summary>The labels resized with nearest-neighbour sampling (pixel centres, as OpenCV's INTER_NEAREST).</summary>
    public static LabelMap ResizeNearest(LabelMap labels, int width, int height)
    {
        if (width == labels.Width && height == labels.Height) return labels;
        var result = new byte[width * height];
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min(labels.Height - 1, (int)(y * (double)labels.Height / height));
            for (int x = 0; x < width; x++)
            {
                int sx = Math.Min(labels.Width - 1, (int)(x * (double)labels.Width / width));
                result[y * width + x] = labels.Labels[sy * labels.Width + sx];
            }
        }
        return new LabelMap(width, height, result);
    }

    /// <summary>The window at (<paramref name="x"/>, <paramref name="y"/>) of size <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static RgbImage Crop(RgbImage image, int x, int y, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int row = 0; row < height; row++)
            Buffer.BlockCopy(image.Pixels, ((y + row) * image.Width + x) * 3, pixels, row * width * 3, width * 3);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The window of a label map.</summary>
    public static LabelMap Crop(LabelMap labels, int x, int y, int width, int height)
    {
        var values = new byte[width * height];
        for (int row = 0; row < height; row++)
            Buffer.BlockCopy(labels.Labels, (y + row) * labels.Width + x, values, row * width, width);
        return new LabelMap(width, height, values);
    }

    /// <summary>The image mirrored left to right.</summary>
    public static RgbImage FlipHorizontal(RgbImage image)
    {
        var pixels = new byte[image.Pixels.Length];
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                int from = (y * image.Width + x) * 3, to = (y * image.Width + image.Width - 1 - x) * 3;
                pixels[to] = image.Pixels[from];
                pixels[to + 1] = image.Pixels[from + 1];
                pixels[to + 2] = image.Pixels[from + 2];
            }
        }
        return new RgbImage(image.Width, image.Height, pixels);
    }

    /// <summary>The labels mirrored left to right.</summary>
    public static LabelMap FlipHorizontal(LabelMap labels)
    {
        var values = new byte[labels.Labels.Length];
        for (int y = 0; y < labels.Height; y++)
        {
            for (int x = 0; x < labels.Width; x++)
                values[y * labels.Width + labels.Width - 1 - x] = labels.Labels[y * labels.Width + x];
        }
        return new LabelMap(labels.Width, labels.Height, values);
    }
}
