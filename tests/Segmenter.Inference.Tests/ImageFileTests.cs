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
    public void A_header_claiming_a_giant_image_is_refused_before_any_allocation()
    {
        var path = Path.Combine(folder.FullName, "giant.png");
        File.WriteAllBytes(path, Png(60000, 60000, depth: 8, colorType: 2, new byte[7]));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(path));
        Assert.Contains("60000×60000", error.Message);
    }

    /// <summary>A PNG with the given header and raw (unfiltered rows, already with filter bytes) data, CRCs correct.</summary>
    private static byte[] Png(int width, int height, byte depth, byte colorType, byte[] raw)
    {
        using var output = new MemoryStream();
        output.Write(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = depth;
        header[9] = colorType;
        Chunk(output, "IHDR", header);
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
