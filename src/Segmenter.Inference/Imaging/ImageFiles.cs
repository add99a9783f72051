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
        using var codec = Open(path, "file");
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>
    /// Decodes an image held in memory (an upload) to RGB; <paramref name="name"/> names it in errors. Images of more than
    /// <paramref name="maximumPixels"/> pixels are refused from their header, before any pixel memory is taken.
    /// </summary>
    public static RgbImage DecodeRgb(byte[] data, string name, long maximumPixels = MaximumPixels)
    {
        using var bitmap = DecodeBytes(data, name, SKColorType.Rgba8888, maximumPixels);
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
        CheckFile(path, "label file");
        if (IndexedPng.TryRead(path, out var indexed)) return indexed!;
        var kind = PngKind(path);
        if (kind is { } other && other != (8, 0))
            throw new InvalidDataException($"{path}: a label image must be an 8-bit greyscale or a palette (indexed) PNG, but this one is {Describe(other)}; " +
                                           "save the class indices as 8-bit greyscale");
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not an image file that can be decoded");
        if (codec.EncodedFormat != SKEncodedImageFormat.Png)
            throw new InvalidDataException($"{path}: a label image must be a PNG (lossless), but this file holds {codec.EncodedFormat.ToString().ToUpperInvariant()} data; " +
                                           "lossy formats change class indices at edges");
        IndexedPng.Verify(path);
        if (codec.Info.ColorType == SKColorType.Gray8)
        {
            using var grey = Decode(codec, path, SKColorType.Gray8, MaximumPixels);
            return new LabelMap(grey.Width, grey.Height, grey.Bytes);
        }
        if (kind != (8, 0))
            throw new InvalidDataException($"{path}: a label image must be an 8-bit greyscale or a palette (indexed) PNG, but this one is {codec.Info.ColorType}; " +
                                           "convert it to greyscale class indices");
        // 8-bit greyscale with a transparent value (a tRNS chunk): Skia gives it an alpha channel; unpremultiplied, each
        // pixel's red is its grey value, whatever its alpha.
        using var rgba = Decode(codec, path, SKColorType.Rgba8888, MaximumPixels);
        var pixels = rgba.Bytes;
        var values = new byte[pixels.Length / 4];
        for (int i = 0; i < values.Length; i++) values[i] = pixels[4 * i];
        return new LabelMap(rgba.Width, rgba.Height, values);
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
        using var codec = Open(path, "image file");
        if (codec.EncodedFormat == SKEncodedImageFormat.Png) IndexedPng.Verify(path);
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg || JpegScan.UncheckedVersion(path) is not { } version)
            return Decode(codec, path, colorType, MaximumPixels);
        // A JPEG not yet found whole: decoded from the bytes its check reads, so that both see the same version of the file.
        var bitmap = DecodeBytes(JpegScan.ReadFile(path), path, colorType, MaximumPixels);
        JpegScan.RememberWhole(version);
        return bitmap;
    }

    /// <summary>Decodes encoded bytes (<paramref name="name"/> names them in errors); a JPEG's scan data is checked (<see cref="JpegScan"/>).</summary>
    private static SKBitmap DecodeBytes(byte[] data, string name, SKColorType colorType, long maximumPixels)
    {
        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(skData) ?? throw new InvalidDataException($"{name}: not an image that can be decoded ({Formats})");
        CheckFormat(codec, name);
        var bitmap = Decode(codec, name, colorType, maximumPixels);
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg) return bitmap;
        try
        {
            JpegScan.Verify(data, bitmap, name);
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>The image formats read, the same as the PyTorch engine's (its data.py): what Skia also decodes beside them
    /// (WBMP, whose header is a few zero bytes, ICO, raw camera files) would let a damaged file pass as a picture.</summary>
    private const string Formats = "PNG, JPEG, BMP, WebP or GIF";

    /// <summary>A decoder for the image file <paramref name="path"/> (<paramref name="what"/> names it in errors), checked as
    /// <see cref="CheckFile"/> and <see cref="CheckFormat"/> check it.</summary>
    private static SKCodec Open(string path, string what)
    {
        CheckFile(path, what);
        var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not an image file that can be decoded ({Formats})");
        try
        {
            CheckFormat(codec, path);
            return codec;
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses a path that names nothing, a link to nothing, or something other than a file with content: a pipe would
    /// block the reader until another process wrote to it, and a device has no end.
    /// </summary>
    private static void CheckFile(string path, string what)
    {
        FileSystemInfo file = new FileInfo(path);
        if (file.LinkTarget is { } link)
        {
            try
            {
                file = file.ResolveLinkTarget(returnFinalTarget: true) ?? file;
            }
            catch (IOException e)
            {
                throw new InvalidDataException($"{path}: a link that cannot be followed ({e.Message})");
            }
            if (!file.Exists && !Directory.Exists(file.FullName))
                throw new FileNotFoundException($"{what} '{path}' is a link to '{link}', which does not exist", path);
        }
        if (Directory.Exists(file.FullName)) throw new InvalidDataException($"{path}: a folder, not a file");
        if (file is not FileInfo { Exists: true } regular) throw new FileNotFoundException($"{what} '{path}' does not exist", path);
        if (regular.Length == 0)
            throw new InvalidDataException($"{path}: the file is empty, or is not a regular file (a pipe or a device)");
    }

    private static void CheckFormat(SKCodec codec, string name)
    {
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Bmp or SKEncodedImageFormat.Webp or SKEncodedImageFormat.Gif))
            throw new InvalidDataException($"{name}: not a {Formats} image (its data reads as {codec.EncodedFormat.ToString().ToUpperInvariant()})");
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
