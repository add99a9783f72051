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
