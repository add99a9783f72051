using System;
using System.IO;
using Segmenter.Runtime;
using SkiaSharp;

namespace Segmenter.Inference.Imaging;

/// <summary>Reading and writing image files (PNG, JPEG and what else Skia decodes); PNG for output, written atomically.</summary>
public static class ImageFiles
{
    /// <summary>Decodes an image file to RGB; an error naming the file if it cannot be decoded.</summary>
    public static RgbImage ReadRgb(string path)
    {
        using var bitmap = Decode(path, SKColorType.Rgba8888);
        return RgbImage.FromRgba(bitmap.Width, bitmap.Height, bitmap.Bytes);
    }

    /// <summary>An image file's width and height from its header, nothing decoded; an error naming the file if it holds no image.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"file '{path}' does not exist", path);
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not an image file that can be decoded (PNG, JPEG, …)");
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>
    /// Decodes an image held in memory (an upload) to RGB; <paramref name="name"/> names it in errors. Images of more than
    /// <paramref name="maximumPixels"/> pixels are refused from their header, before any pixel memory is taken.
    /// </summary>
    public static RgbImage DecodeRgb(byte[] data, string name, long maximumPixels = MaximumPixels)
    {
        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(skData) ?? throw new InvalidDataException($"{name}: not an image that can be decoded (PNG, JPEG, …)");
        using var bitmap = Decode(codec, name, SKColorType.Rgba8888, maximumPixels);
        return RgbImage.FromRgba(bitmap.Width, bitmap.Height, bitmap.Bytes);
    }

    /// <summary>The PNG encoding of <paramref name="image"/>.</summary>
    public static byte[] EncodePng(RgbImage image)
    {
        var stream = new MemoryStream();
        EncodeTo(stream, new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque), image.ToRgba(), SKEncodedImageFormat.Png, 100, "the image");
        return stream.ToArray();
    }

    /// <summary>
    /// Reads a label image: an 8-bit grey PNG gives its values; a palette (indexed) PNG gives its
    /// palette indices, not its colours. Other images are refused: a label must not be guessed from colours, nor read
    /// from a lossy format (a JPEG saved under a .png name).
    /// </summary>
    public static LabelMap ReadLabels(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"label file '{path}' does not exist", path);
        if (IndexedPng.TryRead(path, out var indexed)) return indexed!;
        if (PngKind(path) is { } kind && kind != (8, 0))
            throw new InvalidDataException($"{path}: a label image must be an 8-bit greyscale or a palette (indexed) PNG, but this one is {Describe(kind)}; " +
                                           "save the class indices as 8-bit greyscale");
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not an image file that can be decoded");
        if (codec.EncodedFormat != SKEncodedImageFormat.Png)
            throw new InvalidDataException($"{path}: a label image must be a PNG (lossless), but this file holds {codec.EncodedFormat.ToString().ToUpperInvariant()} data; " +
                                           "lossy formats change class indices at edges");
        if (codec.Info.ColorType != SKColorType.Gray8)
            throw new InvalidDataException($"{path}: a label image must be an 8-bit greyscale or a palette (indexed) PNG, but this one is {codec.Info.ColorType}; " +
                                           "convert it to greyscale class indices");
        using var bitmap = Decode(path, SKColorType.Gray8);
        return new LabelMap(bitmap.Width, bitmap.Height, bitmap.Bytes);
    }

    /// <summary>
    /// <paramref name="image"/> resampled to <paramref name="width"/> × <paramref name="height"/> with Skia's linear filter
    /// between mipmap levels, so a large reduction averages the pixels it drops rather than aliasing them.
    /// </summary>
    public static RgbImage Resized(RgbImage image, int width, int height)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"an image needs a positive size, got {width}×{height}");
        if (width == image.Width && height == image.Height) return image;
        using var source = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        image.CopyRgbaTo(source.GetPixelSpan());
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        if (!source.ScalePixels(target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)))
            throw new InvalidOperationException($"Skia could not resample a {image.Width}×{image.Height} image to {width}×{height}");
        return RgbImage.FromRgba(width, height, target.Bytes);
    }

    /// <summary>Writes <paramref name="image"/> as PNG, atomically.</summary>
    public static void WritePng(string path, RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = image.ToRgba();
        Encode(path, info, rgba);
    }

    /// <summary>Writes <paramref name="labels"/> as an 8-bit greyscale PNG of the class indices, atomically.</summary>
    public static void WriteLabelPng(string path, LabelMap labels) =>
        Encode(path, new SKImageInfo(labels.Width, labels.Height, SKColorType.Gray8, SKAlphaType.Opaque), labels.Labels);

    /// <summary>Writes <paramref name="image"/> as JPEG (quality 95), atomically.</summary>
    public static void WriteJpeg(string path, RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = image.ToRgba();
        Encode(path, info, rgba, SKEncodedImageFormat.Jpeg, 95);
    }

    /// <summary>The most pixels an image may have (about 10,000 × 10,000): a header claiming more is refused before any memory is taken.</summary>
    public const long MaximumPixels = 100_000_000;

    private static SKBitmap Decode(string path, SKColorType colorType)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image file '{path}' does not exist", path);
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not an image file that can be decoded (PNG, JPEG, …)");
        return Decode(codec, path, colorType, MaximumPixels);
    }

    private static SKBitmap Decode(SKCodec codec, string path, SKColorType colorType, long maximumPixels)
    {
        long pixels = (long)codec.Info.Width * codec.Info.Height;
        if (codec.Info.Width < 1 || codec.Info.Height < 1 || pixels > maximumPixels)
            throw new InvalidDataException($"{path}: the image claims {codec.Info.Width}×{codec.Info.Height} pixels; at most {maximumPixels.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} are accepted");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, colorType, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidDataException(result == SKCodecResult.IncompleteInput
                ? $"{path}: the image file is truncated (its data ends before the image does)"
                : $"{path}: the image could not be decoded ({result})");
        }
        return bitmap;
    }

    /// <summary>A PNG's (bit depth, colour type) from its IHDR chunk, or null for a file that is not a PNG.</summary>
    private static (int Depth, int ColorType)? PngKind(string path)
    {
        Span<byte> start = stackalloc byte[26];
        using var stream = File.OpenRead(path);
        if (stream.Read(start) < 26) return null;
        ReadOnlySpan<byte> signature = stackalloc byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        if (!start[..8].SequenceEqual(signature) || start[12] != (byte)'I' || start[13] != (byte)'H' || start[14] != (byte)'D' || start[15] != (byte)'R') return null;
        return (start[24], start[25]);
    }

    private static string Describe((int Depth, int ColorType) kind) => kind.ColorType switch
    {
        0 => $"{kind.Depth}-bit greyscale",
        2 => $"{kind.Depth}-bit RGB colour",
        3 => $"{kind.Depth}-bit palette",
        4 => $"{kind.Depth}-bit greyscale with alpha",
        6 => $"{kind.Depth}-bit RGBA colour",
        _ => $"of PNG colour type {kind.ColorType}",
    };

    private static void Encode(string path, SKImageInfo info, byte[] pixels, SKEncodedImageFormat format = SKEncodedImageFormat.Png, int quality = 100)
    {
        AtomicFile.Write(path, stream => EncodeTo(stream, info, pixels, format, quality, path));
    }

    private static void EncodeTo(Stream stream, SKImageInfo info, byte[] pixels, SKEncodedImageFormat format, int quality, string name)
    {
        using var data = SKData.CreateCopy(pixels);
        using var image = SKImage.FromPixels(info, data, info.RowBytes) ?? throw new InvalidOperationException("could not wrap pixels for encoding");
        using var encoded = image.Encode(format, quality) ?? throw new InvalidOperationException($"could not encode {name}");
        encoded.SaveTo(stream);
    }
}
