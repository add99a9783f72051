using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Segmenter.Inference.Imaging;
using Xunit;

namespace Segmenter.Inference.Tests;

/// <summary>Image and label files that lie or are damaged are refused with the file's name, never read as if whole.</summary>
public sealed class ImageFileTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-images-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void A_truncated_image_is_refused_as_truncated()
    {
        var random = new Random(5);
        var pixels = new byte[96 * 80 * 3];
        random.NextBytes(pixels);   // noise compresses badly, so the cut falls inside the image data
        var path = Path.Combine(folder.FullName, "noise.png");
        ImageFiles.WritePng(path, new RgbImage(96, 80, pixels));
        Assert.Equal(96, ImageFiles.ReadRgb(path).Width);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 3 / 5)]);
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_16_bit_label_png_is_refused_rather_than_read_as_zeros()
    {
        var path = Path.Combine(folder.FullName, "labels16.png");
        File.WriteAllBytes(path, Png(4, 3, depth: 16, colorType: 0, new byte[3 * (1 + 4 * 2)]));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadLabels(path));
        Assert.Contains("16-bit greyscale", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_greyscale_jpeg_under_a_png_name_is_refused_as_a_label()
    {
        var path = Path.Combine(folder.FullName, "labels.png");
        using (var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(8, 8, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque)))
        using (var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90))
            File.WriteAllBytes(path, data.ToArray());
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadLabels(path));
        Assert.Contains("must be a PNG (lossless), but this file holds JPEG data", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_header_claiming_a_giant_image_is_refused_before_any_allocation()
    {
        var path = Path.Combine(folder.FullName, "giant.png");
        File.WriteAllBytes(path, Png(60000, 60000, depth: 8, colorType: 2, new byte[7]));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(path));
        Assert.Contains("60000×60000", error.Message);
    }

    /// <summary>
    /// Seeded mutations (bytes flipped, cut, appended) of a palette label, a greyscale label and a colour image:
    /// each file is read with its true size and content, or refused with an <see cref="InvalidDataException"/>
    /// naming it. A changed byte inside a chunk is caught by the chunk's checksum, so no damaged pixel passes.
    /// </summary>
    [Theory]
    [InlineData("palette")]
    [InlineData("grey")]
    [InlineData("colour")]
    public void Damaged_pngs_are_read_whole_or_refused(string kind)
    {
        const int width = 23, height = 17;
        var random = new Random(kind.Length * 7919);
        var labels = new LabelMap(width, height, Enumerable.Range(0, width * height).Select(i => (byte)(i * 7 % 5 == 0 ? 255 : i % 6)).ToArray());
        var pixels = new byte[width * height * 3];
        random.NextBytes(pixels);
        var original = Path.Combine(folder.FullName, $"original-{kind}.png");
        switch (kind)
        {
            case "palette": IndexedPng.Write(original, labels, Enumerable.Range(0, 256).Select(i => ((byte)i, (byte)(255 - i), (byte)(i * 3))).ToList()); break;
            case "grey": ImageFiles.WriteLabelPng(original, labels); break;
            default: ImageFiles.WritePng(original, new RgbImage(width, height, pixels)); break;
        }
        byte[] Read(string path) => kind == "colour" ? ImageFiles.ReadRgb(path).Pixels : ImageFiles.ReadLabels(path).Labels;
        var expected = Read(original);
        Assert.Equal(kind == "colour" ? pixels : labels.Labels, expected);

        var valid = File.ReadAllBytes(original);
        var damaged = Path.Combine(folder.FullName, $"damaged-{kind}.png");
        int refused = 0, runs = 600;
        for (int i = 0; i < runs; i++)
        {
            var bytes = (byte[])valid.Clone();
            switch (i % 3)
            {
                case 0:
                    for (int k = random.Next(1, 4); k > 0; k--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1:
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                default:
                    bytes = bytes.Concat(Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256))).ToArray();
                    break;
            }
            File.WriteAllBytes(damaged, bytes);
            try
            {
                Assert.Equal(expected, Read(damaged));
            }
            catch (InvalidDataException e)
            {
                Assert.Contains(damaged, e.Message);
                refused++;
            }
        }
        Assert.True(refused > runs / 2, $"only {refused} of {runs} damaged files were refused");
    }

    /// <summary>
    /// Palette labels saved with Adam7 interlacing (seven passes over the image, each its own run of filtered scanlines) read as
    /// the same indices as without it, at every palette bit depth, for sizes whose later passes are empty (1×1, 3×2) or
    /// ragged, with every scanline filter in use.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Interlaced_palette_labels_read_as_their_indices(int depth)
    {
        var random = new Random(depth);
        foreach (var (width, height) in new[] { (1, 1), (3, 2), (8, 1), (1, 9), (9, 9), (23, 17), (64, 33) })
        {
            var indices = new byte[width * height];
            for (int i = 0; i < indices.Length; i++) indices[i] = (byte)random.Next(1 << depth);
            foreach (var interlaced in new[] { true, false })
            {
                var path = Path.Combine(folder.FullName, $"palette-{depth}-{width}x{height}-{interlaced}.png");
                File.WriteAllBytes(path, Png(width, height, (byte)depth, colorType: 3, Scanlines(indices, width, height, depth, interlaced), interlaced ? (byte)1 : (byte)0));
                var labels = ImageFiles.ReadLabels(path);
                Assert.Equal((width, height), (labels.Width, labels.Height));
                Assert.Equal(indices, labels.Labels);
            }
        }
    }

    [Fact]
    public void An_unknown_interlace_method_is_refused_as_corrupt()
    {
        var path = Path.Combine(folder.FullName, "interlace2.png");
        File.WriteAllBytes(path, Png(2, 2, depth: 8, colorType: 3, new byte[2 * 3], interlace: 2));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadLabels(path));
        Assert.Contains("interlace method 2", error.Message);
        Assert.Contains(path, error.Message);
    }

    /// <summary>
    /// The filtered scanlines of palette indices packed <paramref name="depth"/> bits a pixel, in Adam7's seven passes or as
    /// one image; scanline r of a pass uses filter r mod 5 (none, sub, up, average, Paeth).
    /// </summary>
    private static byte[] Scanlines(byte[] indices, int width, int height, int depth, bool interlaced)
    {
        var passes = interlaced
            ? new[] { (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2) }
            : new[] { (0, 0, 1, 1) };
        var output = new MemoryStream();
        foreach (var (left, top, columnStep, rowStep) in passes)
        {
            var columns = Enumerable.Range(0, width).Where(x => x >= left && (x - left) % columnStep == 0).ToArray();
            var rows = Enumerable.Range(0, height).Where(y => y >= top && (y - top) % rowStep == 0).ToArray();
            if (columns.Length == 0 || rows.Length == 0) continue;
            int stride = (columns.Length * depth + 7) / 8, bytesPerPixel = Math.Max(1, depth / 8);
            var previous = new byte[stride];
            for (int r = 0; r < rows.Length; r++)
            {
                var line = new byte[stride];
                for (int c = 0; c < columns.Length; c++)
                    line[c * depth / 8] |= (byte)(indices[rows[r] * width + columns[c]] << (8 - depth - c * depth % 8));
                int filter = r % 5;
                output.WriteByte((byte)filter);
                for (int i = 0; i < stride; i++)
                {
                    int a = i >= bytesPerPixel ? line[i - bytesPerPixel] : 0, b = previous[i], c = i >= bytesPerPixel ? previous[i - bytesPerPixel] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    int predicted = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => pa <= pb && pa <= pc ? a : pb <= pc ? b : c };
                    output.WriteByte((byte)(line[i] - predicted));
                }
                previous = line;
            }
        }
        return output.ToArray();
    }

    /// <summary>
    /// An 8-bit greyscale label with a transparent value (a tRNS chunk, which some editors add) reads as its values, the
    /// transparent one included, as the PyTorch engine reads it; Skia decodes such a file with an alpha channel.
    /// </summary>
    [Fact]
    public void A_greyscale_label_with_a_transparent_value_reads_as_its_values()
    {
        var path = Path.Combine(folder.FullName, "grey-trns.png");
        byte[] values = { 0, 1, 2, 7, 255, 7 };
        var rows = new byte[] { 0, values[0], values[1], values[2], 0, values[3], values[4], values[5] };
        File.WriteAllBytes(path, Png(3, 2, depth: 8, colorType: 0, rows, extra: ("tRNS", new byte[] { 0, 7 })));
        var labels = ImageFiles.ReadLabels(path);
        Assert.Equal((3, 2), (labels.Width, labels.Height));
        Assert.Equal(values, labels.Labels);
    }

    /// <summary>
    /// Only PNG, JPEG, BMP, WebP and GIF are read, as in the PyTorch engine. Skia also takes WBMP, whose header is a few
    /// bytes that a damaged file can make: 28 bytes, mostly zeros, read as a black 16 × 12 picture until this check.
    /// </summary>
    [Fact]
    public void A_format_outside_the_five_is_refused_saying_what_it_read_as()
    {
        var path = Path.Combine(folder.FullName, "zeros.png");
        File.WriteAllBytes(path, new byte[] { 0, 0, 16, 12 }.Concat(new byte[24]).ToArray());
        foreach (var read in new Action[] { () => ImageFiles.ReadSize(path), () => ImageFiles.ReadRgb(path) })
        {
            var error = Assert.Throws<InvalidDataException>(read);
            Assert.Equal($"{path}: not a PNG, JPEG, BMP, WebP or GIF image (its data reads as WBMP)", error.Message);
        }
        var upload = Assert.Throws<InvalidDataException>(() => ImageFiles.DecodeRgb(File.ReadAllBytes(path), "the upload"));
        Assert.StartsWith("the upload: not a PNG, JPEG, BMP, WebP or GIF image", upload.Message);
    }

    /// <summary>
    /// A pipe named like an image (which would block the reader until something wrote to it), an empty file, a folder and
    /// a link to nothing are refused before anything is opened, each saying what it is; the pipe within seconds.
    /// </summary>
    [Fact]
    public async System.Threading.Tasks.Task What_is_not_a_file_with_content_is_refused_before_it_is_opened()
    {
        var pipe = Path.Combine(folder.FullName, "pipe.png");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe)) mkfifo.WaitForExit();
        foreach (var read in new Func<object>[] { () => ImageFiles.ReadSize(pipe), () => ImageFiles.ReadRgb(pipe), () => ImageFiles.ReadLabels(pipe) })
        {
            var attempt = System.Threading.Tasks.Task.Run(read);
            Assert.Same(attempt, await System.Threading.Tasks.Task.WhenAny(attempt, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(20))));   // not blocked
            var error = Assert.IsType<InvalidDataException>(attempt.Exception?.InnerException);
            Assert.Equal($"{pipe}: the file is empty, or is not a regular file (a pipe or a device)", error.Message);
        }
        var empty = Path.Combine(folder.FullName, "empty.png");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        Assert.Contains("the file is empty", Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(empty)).Message);
        var inner = Directory.CreateDirectory(Path.Combine(folder.FullName, "folder.png")).FullName;
        Assert.Equal($"{inner}: a folder, not a file", Assert.Throws<InvalidDataException>(() => ImageFiles.ReadLabels(inner)).Message);
        var dangling = Path.Combine(folder.FullName, "dangling.png");
        File.CreateSymbolicLink(dangling, Path.Combine(folder.FullName, "nowhere.png"));
        var missing = Assert.Throws<FileNotFoundException>(() => ImageFiles.ReadSize(dangling));
        Assert.Equal($"file '{dangling}' is a link to '{Path.Combine(folder.FullName, "nowhere.png")}', which does not exist", missing.Message);
    }

    /// <summary>
    /// A PNG whose image data has a changed byte (its chunk's checksum then fails) or that ends before IEND is refused as a
    /// label or an image alike, as the PyTorch engine refuses it: Skia decodes a greyscale or colour file without IEND, and
    /// a changed byte can still inflate, into damaged pixels.
    /// </summary>
    [Theory]
    [InlineData("palette")]
    [InlineData("grey")]
    [InlineData("colour")]
    public void A_png_with_a_bad_checksum_or_no_end_is_refused(string kind)
    {
        var labels = new LabelMap(5, 4, Enumerable.Range(0, 20).Select(i => (byte)(i % 3)).ToArray());
        var path = Path.Combine(folder.FullName, $"{kind}.png");
        switch (kind)
        {
            case "palette": IndexedPng.Write(path, labels, new[] { ((byte)0, (byte)0, (byte)0), ((byte)9, (byte)9, (byte)9), ((byte)200, (byte)1, (byte)1) }); break;
            case "grey": ImageFiles.WriteLabelPng(path, labels); break;
            default: ImageFiles.WritePng(path, new RgbImage(5, 4, Enumerable.Range(0, 60).Select(i => (byte)(i * 4)).ToArray())); break;
        }
        Func<object> read = kind == "colour" ? () => ImageFiles.ReadRgb(path) : () => ImageFiles.ReadLabels(path);
        read();
        var valid = File.ReadAllBytes(path);
        int data = valid.AsSpan().IndexOf("IDAT"u8) + 4;
        var changed = (byte[])valid.Clone();
        changed[data + 3] ^= 0x01;
        File.WriteAllBytes(path, changed);
        Assert.Equal($"{path}: corrupt PNG: the checksum of chunk 'IDAT' does not match its data", Assert.Throws<InvalidDataException>(read).Message);
        File.WriteAllBytes(path, valid[..^12]);   // without its IEND chunk
        Assert.Equal($"{path}: truncated PNG (no IEND chunk)", Assert.Throws<InvalidDataException>(read).Message);
    }

    /// <summary>A PNG with the given header and raw (unfiltered rows, already with filter bytes) data, CRCs correct.</summary>
    private static byte[] Png(int width, int height, byte depth, byte colorType, byte[] raw, byte interlace = 0, (string Type, byte[] Data)? extra = null)
    {
        using var output = new MemoryStream();
        output.Write(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = depth;
        header[9] = colorType;
        header[12] = interlace;
        Chunk(output, "IHDR", header);
        if (extra is { } chunk) Chunk(output, chunk.Type, chunk.Data);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(raw);
        Chunk(output, "IDAT", compressed.ToArray());
        Chunk(output, "IEND", Array.Empty<byte>());
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        output.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        output.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
