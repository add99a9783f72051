using System;
using System.IO;
using System.Linq;
using Segmenter.Inference.Imaging;
using Xunit;

namespace Segmenter.Inference.Tests;

/// <summary>
/// JPEGs whose scan data ends before the image its header claims (libjpeg invents the rest and calls it a warning) are
/// refused, in files and in uploads; whole JPEGs of every kind the project meets are read as before.
/// </summary>
public sealed class JpegScanTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-jpeg-");

    public void Dispose() => folder.Delete(recursive: true);

    private static byte[] Baseline(int width, int height, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 3 * 60 + i / 3 % width * 2 + random.Next(40));
        var path = Path.GetTempFileName();
        try
        {
            ImageFiles.WriteJpeg(path, new RgbImage(width, height, pixels));
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Progressive() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "progressive.jpg"));

    /// <summary>The file cut at <paramref name="fraction"/> of its last scan's data, an end-of-image marker after the cut.</summary>
    private static byte[] Cut(byte[] jpeg, double fraction)
    {
        int end = JpegScan.ProbePosition(jpeg)!.Value;
        int start = LastScanStart(jpeg);
        int at = start + (int)((end - start) * fraction);
        return jpeg[..at].Concat(new byte[] { 0xFF, 0xD9 }).ToArray();
    }

    private static int LastScanStart(byte[] jpeg)
    {
        int sos = Enumerable.Range(0, jpeg.Length - 1).Last(i => jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA);
        return sos + 2 + (jpeg[sos + 2] << 8 | jpeg[sos + 3]);
    }

    /// <summary>The file with its frame header's height multiplied by <paramref name="factor"/>.</summary>
    private static byte[] Taller(byte[] jpeg, int factor)
    {
        var copy = (byte[])jpeg.Clone();
        int sof = Enumerable.Range(0, jpeg.Length - 1).First(i => jpeg[i] == 0xFF && jpeg[i + 1] is 0xC0 or 0xC1 or 0xC2);
        int height = (copy[sof + 5] << 8 | copy[sof + 6]) * factor;
        copy[sof + 5] = (byte)(height >> 8);
        copy[sof + 6] = (byte)height;
        return copy;
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(folder.FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Whole_jpegs_are_read_and_uploads_decode_the_same()
    {
        foreach (var (name, jpeg) in new[] { ("baseline.jpg", Baseline(72, 40, 1)), ("progressive.jpg", Progressive()) })
        {
            var path = Write(name, jpeg);
            var image = ImageFiles.ReadRgb(path);
            Assert.Equal(ImageFiles.ReadSize(path), (image.Width, image.Height));
            Assert.Equal(image.ToRgba(), ImageFiles.DecodeRgb(jpeg, name).ToRgba());
            Assert.Equal(image.ToRgba(), ImageFiles.ReadRgb(path).ToRgba());   // the second read, from the file found whole
        }
    }

    [Theory]
    [InlineData("baseline", 0.5)]
    [InlineData("baseline", 0.97)]
    [InlineData("progressive", 0.5)]
    [InlineData("progressive", 0.97)]
    public void A_jpeg_cut_in_its_scan_data_and_closed_again_is_refused(string kind, double fraction)
    {
        var whole = kind == "baseline" ? Baseline(72, 40, 2) : Progressive();
        var (width, height) = kind == "baseline" ? (72, 40) : (64, 48);
        var path = Write($"{kind}-cut.jpg", Cut(whole, fraction));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(path));
        Assert.Equal($"{path}: the JPEG's image data ends before the {width}×{height} pixels its header claims " +
                     "(a truncated or damaged file; the decoder would invent the rest)", error.Message);
        error = Assert.Throws<InvalidDataException>(() => ImageFiles.DecodeRgb(File.ReadAllBytes(path), "upload"));
        Assert.StartsWith("upload: the JPEG's image data ends before", error.Message);
    }

    /// <summary>Every fifth byte of the last scan of a baseline file: each cut, closed again, is refused as truncated.</summary>
    [Fact]
    public void Every_cut_in_a_scan_is_refused()
    {
        var whole = Baseline(48, 32, 5);
        int start = LastScanStart(whole), end = JpegScan.ProbePosition(whole)!.Value;
        var passed = Enumerable.Range(0, (end - start) / 5).Select(i => start + 5 * i)
            .Where(at => !Refused(whole[..at].Concat(new byte[] { 0xFF, 0xD9 }).ToArray())).ToList();
        Assert.True(end - start > 500, $"a scan of {end - start} bytes");
        Assert.Empty(passed);

        static bool Refused(byte[] jpeg)
        {
            try
            {
                ImageFiles.DecodeRgb(jpeg, "cut");
                return false;
            }
            catch (InvalidDataException e) when (e.Message.Contains("ends before the 48×32 pixels"))
            {
                return true;
            }
        }
    }

    /// <summary>A camera's MPO file (a JPEG with more images after its end marker, which decoders leave): its first image is checked.</summary>
    [Fact]
    public void An_mpo_is_read_and_one_claiming_more_rows_is_refused()
    {
        var mpo = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "camera.mpo"));
        int sos = Enumerable.Range(0, mpo.Length - 1).First(i => mpo[i] == 0xFF && mpo[i + 1] == 0xDA);
        int firstEnd = Enumerable.Range(sos, mpo.Length - sos - 1).First(i => mpo[i] == 0xFF && mpo[i + 1] == 0xD9);
        Assert.True(firstEnd < mpo.Length - 1000, "a second image after the first's end marker");
        Assert.Equal(firstEnd, JpegScan.ProbePosition(mpo));
        var image = ImageFiles.ReadRgb(Write("camera.jpg", mpo));
        Assert.Equal((56, 40), (image.Width, image.Height));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(Write("taller.jpg", Taller(mpo, 2))));
        Assert.Contains("ends before the 56×80 pixels its header claims", error.Message);
    }

    [Theory]
    [InlineData("baseline")]
    [InlineData("progressive")]
    public void A_jpeg_whose_header_claims_more_rows_than_its_data_is_refused(string kind)
    {
        var whole = kind == "baseline" ? Baseline(72, 40, 3) : Progressive();
        var path = Write($"{kind}-taller.jpg", Taller(whole, 2));
        var error = Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(path));
        Assert.Contains($"ends before the {(kind == "baseline" ? "72×80" : "64×96")} pixels its header claims", error.Message);
    }

    [Fact]
    public void A_file_replaced_by_a_damaged_one_of_another_length_is_checked_again()
    {
        var whole = Baseline(72, 40, 4);
        var path = Write("changing.jpg", whole);
        ImageFiles.ReadRgb(path);
        File.WriteAllBytes(path, Cut(whole, 0.6));
        Assert.Throws<InvalidDataException>(() => ImageFiles.ReadRgb(path));
    }

    [Fact]
    public void The_probe_is_the_pytorch_engines_bytes()
    {
        Assert.Equal(512, JpegScan.Probe.Length);
        Assert.DoesNotContain((byte)0xFF, JpegScan.Probe.ToArray());
        Assert.Equal("e9a2829988ceeee8", Convert.ToHexStringLower(JpegScan.Probe[..8]));   // python/tests/test_jpeg_scan.py checks the same
    }

    [Fact]
    public void The_scan_ends_at_the_first_marker_that_is_not_a_restart_or_a_stuffed_byte()
    {
        byte[] jpeg =
        {
            0xFF, 0xD8,                                     // SOI
            0xFF, 0xE0, 0x00, 0x04, 0xFF, 0xDA,             // APP0 whose content looks like a marker
            0xFF, 0xDA, 0x00, 0x03, 0x00,                   // SOS (its header cut short of a real one's, which the walk does not read)
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56,       // entropy data: a stuffed 0xFF, a restart marker
            0xFF, 0xFF, 0xD9,                               // a fill byte, then EOI
            0x99,
        };
        Assert.Equal(20, JpegScan.ProbePosition(jpeg));
        Assert.Equal(20, JpegScan.ProbePosition(jpeg[..20]));   // no end marker: the data's end
        Assert.Null(JpegScan.ProbePosition(jpeg[..8]));         // no scan
        Assert.Null(JpegScan.ProbePosition(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));
        // An arithmetic-coded frame (SOF9) before the scan: its decoder reads zeros at the next marker, so it is not probed.
        byte[] arithmetic = jpeg[..2].Concat(new byte[] { 0xFF, 0xC9, 0x00, 0x03, 0x08 }).Concat(jpeg[2..]).ToArray();
        Assert.Null(JpegScan.ProbePosition(arithmetic));
    }
}
