using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO;
using SkiaSharp;

namespace Segmenter.Inference.Imaging;

/// <summary>
/// Whether a JPEG's entropy-coded data covers the image its header claims. libjpeg (under Skia here, under Pillow in the
/// PyTorch engine) treats scan data that ends early as a warning and invents the missing blocks (zero coefficients: the last
/// colour drawn on), so a truncated file with an end marker, or one whose frame header claims more rows than its data holds,
/// decodes "successfully". A JPEG has no checksum; what can be checked is whether the decoder ran out of data: the file is
/// decoded a second time with bytes of noise put after its last scan's data. A decoder that had finished the image skips
/// them; one that ran out reads them as more blocks, and the two decodes differ. The PyTorch engine's data.py does the same.
/// </summary>
public static class JpegScan
{
    /// <summary>
    /// The probe: bytes from a fixed linear congruential sequence, 0xFF left out (it would start a marker). Half a
    /// kilobyte decodes to thousands of coefficients, so a decoder that reads it cannot give back the same pixels.
    /// </summary>
    private static readonly byte[] Noise = MakeNoise(512);

    /// <summary>The probe's bytes (the PyTorch engine's data.py makes the same).</summary>
    internal static ReadOnlySpan<byte> Probe => Noise;

    /// <summary>Files already found whole (full path, length, last write), so that a dataset's images are probed once a process.</summary>
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), bool> Whole = new();

    /// <summary>
    /// Throws when <paramref name="decoded"/>, decoded by Skia from the JPEG <paramref name="data"/>, was partly invented by
    /// the decoder. The probed file is decoded a row at a time and compared as it goes, so the check holds one row beside
    /// the image, not a second image. <paramref name="name"/> names the image in the error.
    /// </summary>
    public static void Verify(ReadOnlySpan<byte> data, SKBitmap decoded, string name)
    {
        if (ProbePosition(data) is not { } at) return;
        var probed = new byte[data.Length + Noise.Length];
        data[..at].CopyTo(probed);
        Noise.CopyTo(probed, at);
        data[at..].CopyTo(probed.AsSpan(at + Noise.Length));
        if (SameAs(probed, decoded) == false)
            throw new InvalidDataException($"{name}: the JPEG's image data ends before the {decoded.Width}×{decoded.Height} pixels its header claims " +
                                           "(a truncated or damaged file; the decoder would invent the rest)");
    }

    /// <summary>
    /// This version of the file <paramref name="path"/> (its full path, length and time written), to give
    /// <see cref="RememberWhole"/> once <see cref="Verify"/> passed; null where it was already found whole in this process.
    /// </summary>
    public static (string Path, long Length, DateTime Written)? UncheckedVersion(string path)
    {
        var file = new FileInfo(path);
        var version = (file.FullName, file.Length, file.LastWriteTimeUtc);
        return Whole.ContainsKey(version) ? null : version;
    }

    /// <summary>Records a version of a file that <see cref="Verify"/> passed: later reads of it are not probed.</summary>
    public static void RememberWhole((string Path, long Length, DateTime Written) version) => Whole.TryAdd(version, true);

    /// <summary>The bytes of the JPEG file <paramref name="path"/>; one beyond what an array holds is refused rather than half read.</summary>
    public static byte[] ReadFile(string path)
    {
        long length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{path}: a JPEG file of {length:N0} bytes; at most {Array.MaxLength:N0} are read"));
        return File.ReadAllBytes(path);
    }

    /// <summary>Whether <paramref name="encoded"/> decodes to <paramref name="decoded"/>'s pixels, row by row; null where it does not decode to that size (no verdict).</summary>
    private static bool? SameAs(byte[] encoded, SKBitmap decoded)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        var info = decoded.Info;
        if (codec is null || codec.Info.Width != info.Width || codec.Info.Height != info.Height || codec.ScanlineOrder != SKCodecScanlineOrder.TopDown ||
            codec.StartScanlineDecode(info) != SKCodecResult.Success)
            return null;
        using var row = new SKBitmap(info.WithSize(info.Width, 1));
        var pixels = decoded.GetPixelSpan();
        for (int y = 0; y < info.Height; y++)
        {
            if (codec.GetScanlines(row.GetPixels(), 1, row.RowBytes) != 1) return null;
            if (!row.GetPixelSpan().SequenceEqual(pixels.Slice(y * decoded.RowBytes, row.RowBytes))) return false;
        }
        return true;
    }

    /// <summary>
    /// The offset at which the last scan's entropy-coded data ends (the marker after it, or the end of the data), walking the
    /// file's marker segments from its start; null where <paramref name="data"/> holds no scan the walk can reach, or is
    /// arithmetic-coded.
    /// </summary>
    public static int? ProbePosition(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8) return null;
        int at = 2;
        int? scanEnd = null;
        while (at + 1 < data.Length)
        {
            if (data[at] != 0xFF) return scanEnd;
            while (at + 1 < data.Length && data[at + 1] == 0xFF) at++;             // fill bytes before a marker
            if (at + 1 >= data.Length) break;
            byte marker = data[at + 1];
            if (marker == 0xD9) break;                                              // EOI
            if (marker is 0x01 or 0xD8 || IsRestart(marker))
            {
                at += 2;                                                            // markers without a length
                continue;
            }
            if (at + 4 > data.Length) break;
            int end = at + 2 + ((data[at + 2] << 8) | data[at + 3]);
            if (end < at + 4 || end > data.Length) break;
            if (IsArithmeticFrame(marker)) return null;
            if (marker != 0xDA)
            {
                at = end;
                continue;
            }
            // SOS: its entropy-coded data runs to the first 0xFF that is neither a stuffed 0xFF 0x00 nor a restart marker.
            int p = end;
            while (p < data.Length && !(data[p] == 0xFF && p + 1 < data.Length && data[p + 1] != 0 && !IsRestart(data[p + 1]))) p++;
            scanEnd = at = p;
        }
        return scanEnd;
    }

    private static bool IsRestart(byte marker) => marker is >= 0xD0 and <= 0xD7;

    /// <summary>
    /// SOF9–SOF11 and SOF13–SOF15: arithmetic-coded frames, whose encoder leaves out a scan's trailing zero bytes and whose
    /// decoder reads zeros at the next marker; noise there would change a whole file's last blocks, so they are not probed.
    /// </summary>
    private static bool IsArithmeticFrame(byte marker) => marker is >= 0xC9 and <= 0xCB or >= 0xCD and <= 0xCF;

    private static byte[] MakeNoise(int length)
    {
        var noise = new byte[length];
        uint state = 2463534242;
        for (int i = 0; i < length;)
        {
            state = state * 1664525 + 1013904223;
            byte value = (byte)(state >> 24);
            if (value != 0xFF) noise[i++] = value;
        }
        return noise;
    }
}
