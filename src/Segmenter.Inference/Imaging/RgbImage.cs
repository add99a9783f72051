using System;

namespace Segmenter.Inference.Imaging;

/// <summary>An 8-bit RGB image, row-major, 3 bytes per pixel (HWC).</summary>
public sealed class RgbImage
{
    /// <summary>Wraps pixel data; its length must be width × height × 3.</summary>
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"an image needs a positive size, got {width}×{height}");
        if (pixels.Length != width * height * 3) throw new ArgumentException($"{width}×{height} RGB needs {width * height * 3} bytes, got {pixels.Length}");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>A black image.</summary>
    public RgbImage(int width, int height) : this(width, height, new byte[width * height * 3]) { }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>R, G, B bytes of each pixel, row by row.</summary>
    public byte[] Pixels { get; }

    /// <summary>The pixels as opaque RGBA (Skia's <c>Rgba8888</c>).</summary>
    internal byte[] ToRgba()
    {
        var rgba = new byte[Width * Height * 4];
        CopyRgbaTo(rgba);
        return rgba;
    }

    /// <summary>Writes the pixels as opaque RGBA into <paramref name="rgba"/> (width × height × 4 bytes).</summary>
    internal void CopyRgbaTo(Span<byte> rgba)
    {
        if (rgba.Length != Width * Height * 4) throw new ArgumentException($"{Width}×{Height} RGBA needs {Width * Height * 4} bytes, got {rgba.Length}");
        for (int i = 0, j = 0; j < Pixels.Length; i += 4, j += 3)
        {
            rgba[i] = Pixels[j];
            rgba[i + 1] = Pixels[j + 1];
            rgba[i + 2] = Pixels[j + 2];
            rgba[i + 3] = 255;
        }
    }

    /// <summary>An image from RGBA bytes (alpha dropped).</summary>
    internal static RgbImage FromRgba(int width, int height, byte[] rgba)
    {
        var rgb = new byte[width * height * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(width, height, rgb);
    }

    /// <summary>Sets a pixel.</summary>
    public void Set(int x, int y, byte r, byte g, byte b)
    {
        int i = (y * Width + x) * 3;
        Pixels[i] = r;
        Pixels[i + 1] = g;
        Pixels[i + 2] = b;
    }
}
