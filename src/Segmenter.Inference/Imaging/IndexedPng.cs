using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Segmenter.Runtime;

namespace Segmenter.Inference.Imaging;

/// <summary>
/// Palette (indexed-colour) PNG files, read and written at the chunk level. Image decoders turn such
/// files into colours; a label file needs its palette indices (Pascal VOC and others store class
/// labels this way), so they are read here directly.
/// </summary>
public static class IndexedPng
{
    private static readonly byte[] Signature = { 137, 80, 78, 71, 13, 10, 26, 10 };
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Reads <paramref name="path"/> as palette indices if it is a palette PNG; false (and null) for any other file.</summary>
    public static bool TryRead(string path, out LabelMap? labels)
    {
        labels = null;
        using var stream = File.OpenRead(path);
        var signature = new byte[8];
        if (stream.Read(signature, 0, 8) < 8 || !signature.AsSpan().SequenceEqual(Signature)) return false;

        int width = 0, height = 0, depth = 0, colorType = -1;
        bool interlaced = false;
        var data = new MemoryStream();
        foreach (var (type, chunk) in Chunks(path, stream))
        {
            if (colorType < 0 && type != "IHDR")
                throw new InvalidDataException($"{path}: corrupt PNG: chunk '{Printable(type)}' before the IHDR header");
            if (type == "IHDR")
            {
                if (chunk.Length < 13) throw new InvalidDataException($"{path}: corrupt PNG: an IHDR header of {chunk.Length} bytes (13 expected)");
                width = BinaryPrimitives.ReadInt32BigEndian(chunk);
                height = BinaryPrimitives.ReadInt32BigEndian(chunk.AsSpan(4));
                depth = chunk[8];
                colorType = chunk[9];
                if (colorType != 3) return false;
                if (width < 1 || height < 1 || (long)width * height > ImageFiles.MaximumPixels)
                    throw new InvalidDataException($"{path}: the image claims {width}×{height} pixels; at most {ImageFiles.MaximumPixels.ToString("N0", CultureInfo.InvariantCulture)} are accepted");
                if (depth is not (1 or 2 or 4 or 8))
                    throw new InvalidDataException($"{path}: corrupt PNG: a palette image of bit depth {depth} (1, 2, 4 or 8 expected)");
                if (chunk[10] != 0 || chunk[11] != 0)
                    throw new InvalidDataException($"{path}: corrupt PNG: compression method {chunk[10]} and filter method {chunk[11]} (0 and 0 expected)");
                if (chunk[12] > 1) throw new InvalidDataException($"{path}: corrupt PNG: interlace method {chunk[12]} (0, none, or 1, Adam7, expected)");
                interlaced = chunk[12] == 1;
            }
            else if (type == "IDAT")
            {
                data.Write(chunk);
            }
        }
        if (colorType != 3) return false;

        data.Position = 0;
        var passes = interlaced ? Adam7 : NoInterlacing;
        long rawLength = passes.Sum(p => p.Columns(width) == 0 ? 0 : p.Rows(height) * (Stride(p.Columns(width), depth) + 1L));
        var raw = new byte[rawLength];
        using (var inflater = new ZLibStream(data, CompressionMode.Decompress))
        {
            try
            {
                inflater.ReadExactly(raw);
            }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
            {
                throw new InvalidDataException($"{path}: corrupt or truncated PNG image data", e);
            }
        }

        var indices = new byte[width * height];
        int offset = 0;
        foreach (var pass in passes)
        {
            int columns = pass.Columns(width), rows = pass.Rows(height);
            if (columns == 0 || rows == 0) continue;   // a pass with no pixels has no scanlines, not even filter bytes
            int stride = Stride(columns, depth);
            var previous = new byte[stride];
            var current = new byte[stride];
            for (int row = 0; row < rows; row++, offset += stride + 1)
            {
                Array.Copy(raw, offset + 1, current, 0, stride);
                Unfilter(raw[offset], current, previous, Math.Max(1, depth / 8), path);
                int target = (pass.Top + row * pass.RowStep) * width + pass.Left;
                for (int column = 0; column < columns; column++, target += pass.ColumnStep)
                {
                    int bit = column * depth;
                    indices[target] = depth == 8 ? current[column] : (byte)((current[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1));
                }
                (previous, current) = (current, previous);
            }
        }
        labels = new LabelMap(width, height, indices);
        return true;
    }

    /// <summary>One pass over the image: the pixels from (<see cref="Left"/>, <see cref="Top"/>) every <see cref="ColumnStep"/> columns and <see cref="RowStep"/> rows.</summary>
    private readonly record struct Pass(int Left, int Top, int ColumnStep, int RowStep)
    {
        public int Columns(int width) => width <= Left ? 0 : (width - Left + ColumnStep - 1) / ColumnStep;

        public int Rows(int height) => height <= Top ? 0 : (height - Top + RowStep - 1) / RowStep;
    }

    private static readonly Pass[] NoInterlacing = { new(0, 0, 1, 1) };

    /// <summary>The seven passes of Adam7 interlacing (PNG specification, section 8.2), in the order the data holds them.</summary>
    private static readonly Pass[] Adam7 =
    {
        new(0, 0, 8, 8), new(4, 0, 8, 8), new(0, 4, 4, 8), new(2, 0, 4, 4), new(0, 2, 2, 4), new(1, 0, 2, 2), new(0, 1, 1, 2),
    };

    private static int Stride(int columns, int depth) => (int)(((long)columns * depth + 7) / 8);

    /// <summary>Writes <paramref name="labels"/> as an 8-bit palette PNG whose palette is <paramref name="palette"/> (RGB per index), atomically.</summary>
    public static void Write(string path, LabelMap labels, IReadOnlyList<(byte R, byte G, byte B)> palette) =>
        AtomicFile.Write(path, stream => WriteTo(stream, labels, palette));

    /// <summary>The 8-bit palette PNG of <paramref name="labels"/> (see <see cref="Write"/>), in memory.</summary>
    public static byte[] Encode(LabelMap labels, IReadOnlyList<(byte R, byte G, byte B)> palette)
    {
        var stream = new MemoryStream();
        WriteTo(stream, labels, palette);
        return stream.ToArray();
    }

    private static void WriteTo(Stream stream, LabelMap labels, IReadOnlyList<(byte R, byte G, byte B)> palette)
    {
        stream.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, labels.Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), labels.Height);
        header[8] = 8;   // bit depth
        header[9] = 3;   // colour type: palette
        WriteChunk(stream, "IHDR", header);

        var plte = new byte[256 * 3];
        for (int i = 0; i < Math.Min(256, palette.Count); i++)
        {
            plte[3 * i] = palette[i].R;
            plte[3 * i + 1] = palette[i].G;
            plte[3 * i + 2] = palette[i].B;
        }
        WriteChunk(stream, "PLTE", plte);

        var compressed = new MemoryStream();
        using (var deflater = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < labels.Height; y++)
            {
                deflater.WriteByte(0);
                deflater.Write(labels.Labels, y * labels.Width, labels.Width);
            }
        }
        WriteChunk(stream, "IDAT", compressed.ToArray());
        WriteChunk(stream, "IEND", Array.Empty<byte>());
    }

    private static void Unfilter(int filter, byte[] line, byte[] previous, int bytesPerPixel, string path)
    {
        for (int i = 0; i < line.Length; i++)
        {
            int left = i >= bytesPerPixel ? line[i - bytesPerPixel] : 0;
            int up = previous[i];
            int upLeft = i >= bytesPerPixel ? previous[i - bytesPerPixel] : 0;
            line[i] = filter switch
            {
                0 => line[i],
                1 => (byte)(line[i] + left),
                2 => (byte)(line[i] + up),
                3 => (byte)(line[i] + ((left + up) >> 1)),
                4 => (byte)(line[i] + Paeth(left, up, upLeft)),
                _ => throw new InvalidDataException($"{path}: corrupt PNG (scanline filter {filter})"),
            };
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        var crcBytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        stream.Write(crcBytes);
    }

    /// <summary>
    /// Checks every chunk of the PNG file <paramref name="path"/> against its checksum and that the file ends with IEND:
    /// what an image decoder does not insist on (Skia lets a damaged ancillary chunk or a missing IEND pass), so a changed
    /// byte anywhere in the file is an error, never a damaged pixel. A file that is not a PNG is left to its decoder.
    /// </summary>
    public static void Verify(string path)
    {
        using var stream = File.OpenRead(path);
        var signature = new byte[8];
        if (stream.Read(signature, 0, 8) < 8 || !signature.AsSpan().SequenceEqual(Signature)) return;
        foreach (var _ in Chunks(path, stream)) { }
    }

    /// <summary>The chunks that follow the signature, each checked against its checksum, up to and with IEND.</summary>
    private static IEnumerable<(string Type, byte[] Data)> Chunks(string path, Stream stream)
    {
        var header = new byte[8];
        var crc = new byte[4];
        while (true)
        {
            if (stream.Read(header, 0, 8) < 8) throw new InvalidDataException($"{path}: truncated PNG (no IEND chunk)");
            int length = BinaryPrimitives.ReadInt32BigEndian(header);
            var type = Encoding.ASCII.GetString(header, 4, 4);
            if (length < 0 || length > stream.Length - stream.Position - 4) throw new InvalidDataException($"{path}: truncated or corrupt PNG chunk '{Printable(type)}'");
            var chunk = new byte[length];
            stream.ReadExactly(chunk);
            stream.ReadExactly(crc);
            if (BinaryPrimitives.ReadUInt32BigEndian(crc) != (Crc(Crc(0xFFFFFFFFu, header.AsSpan(4, 4)), chunk) ^ 0xFFFFFFFFu))
                throw new InvalidDataException($"{path}: corrupt PNG: the checksum of chunk '{Printable(type)}' does not match its data");
            yield return (type, chunk);
            if (type == "IEND") yield break;
        }
    }

    private static string Printable(string type) => new(type.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
