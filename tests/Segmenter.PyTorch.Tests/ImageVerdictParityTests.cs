using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Inference.Imaging;
using Segmenter.Tooling.Torchrun;
using Xunit;

namespace Segmenter.PyTorch.Tests;

/// <summary>
/// Damaged image files read by both engines: the .NET engine (Skia) and the PyTorch engine's data.py (Pillow) accept and
/// refuse the same files, and both refuse JPEGs whose scan data ends early and files of every format cut short; a whole
/// JPEG decodes to the same pixels in both.
/// </summary>
public sealed class ImageVerdictParityTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-verdicts-");

    public void Dispose() => temporary.Delete(recursive: true);

    [SkippableFact]
    public void Both_engines_refuse_the_same_cut_jpegs()
    {
        PythonTorch.RequireOrSkip();
        var random = new Random(17);
        var pixels = new byte[60 * 44 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 3 * 70 + i / 3 % 60 * 3 + random.Next(50));
        var whole = Path.Combine(temporary.FullName, "whole.jpg");
        ImageFiles.WriteJpeg(whole, new RgbImage(60, 44, pixels));
        var bytes = File.ReadAllBytes(whole);
        int scan = Enumerable.Range(0, bytes.Length - 1).First(i => bytes[i] == 0xFF && bytes[i + 1] == 0xDA);

        // Cut every 9 bytes from the first scan's header to the end, an end marker after each cut.
        var files = new List<string> { whole };
        for (int at = scan; at < bytes.Length - 2; at += 9)
        {
            var path = Path.Combine(temporary.FullName, $"cut-{at:D5}.jpg");
            File.WriteAllBytes(path, bytes[..at].Concat(new byte[] { 0xFF, 0xD9 }).ToArray());
            files.Add(path);
        }
        var (dotnet, python) = Verdicts(files);
        Assert.Equal("read", dotnet[0]);
        // The whole file decodes to the same pixels in both engines (libjpeg-turbo under Skia and under Pillow).
        PythonTorch.RunScript("""
            from segmenter_torch.data import read_rgb
            open("whole.rgb", "wb").write(read_rgb("whole.jpg").tobytes())
            """, temporary.FullName);
        Assert.Equal(ImageFiles.ReadRgb(whole).Pixels, File.ReadAllBytes(Path.Combine(temporary.FullName, "whole.rgb")));
        Assert.True(dotnet.Skip(1).All(v => v != "read"), "every cut is refused");
        Assert.True(dotnet.Count(v => v == "truncated") > 40, $"{dotnet.Count(v => v == "truncated")} cuts refused as truncated");
    }

    /// <summary>The other formats both engines read, written by Pillow and cut at 120 places: every cut refused by both.</summary>
    [SkippableTheory]
    [InlineData("BMP", "{}")]
    [InlineData("GIF", "{}")]
    [InlineData("WEBP", "{'quality': 90}")]
    [InlineData("WEBP", "{'lossless': True}")]
    [InlineData("PNG", "{}")]
    public void Both_engines_refuse_cut_files_of_the_other_formats(string format, string options)
    {
        PythonTorch.RequireOrSkip();
        var written = PythonTorch.RunScript($$"""
            import numpy as np
            from PIL import Image
            rng = np.random.default_rng(3)
            y, x = np.mgrid[0:44, 0:60]
            pixels = (np.stack([x * 4, y * 5, (x + y) * 3], 2) % 256 + rng.integers(0, 50, (44, 60, 3))).clip(0, 255).astype(np.uint8)
            Image.fromarray(pixels).save("whole.img", "{{format}}", **{{options}})
            data = open("whole.img", "rb").read()
            for i, at in enumerate(sorted(set(range(8, len(data), max(1, len(data) // 120))))):
                open(f"cut-{i:03d}.img", "wb").write(data[:at])
                print(f"cut-{i:03d}.img")
            """, temporary.FullName).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var files = new[] { "whole.img" }.Concat(written).Select(name => Path.Combine(temporary.FullName, name)).ToList();
        var (dotnet, _) = Verdicts(files);
        Assert.Equal("read", dotnet[0]);
        Assert.True(dotnet.Skip(1).All(v => v != "read"), "every cut is refused: " + string.Join(", ", files.Where((_, i) => i > 0 && dotnet[i] == "read").Select(Path.GetFileName)));
    }

    /// <summary>
    /// Each file's verdict in the .NET engine and in the PyTorch engine's data.py: "read", "truncated" (a JPEG's scan data
    /// ends before the size its header claims) or "refused" (for any other reason); fails where the two differ.
    /// </summary>
    private (List<string> DotNet, string[] Python) Verdicts(List<string> files)
    {
        var package = Path.Combine(temporary.FullName, "segmenter_torch");
        foreach (var (name, text) in TorchrunJobs.PackageFiles())
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(package, name))!);
            File.WriteAllText(Path.Combine(package, name), text);
        }

        var python = PythonTorch.RunScript("""
            import sys
            from segmenter_torch.data import DatasetError, read_rgb
            for path in sys.argv[1:]:
                try:
                    read_rgb(path)
                    print("read")
                except DatasetError as error:
                    print("truncated" if "pixels its header claims" in str(error) else "refused")
            """, temporary.FullName, files.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var dotnet = files.Select(path =>
        {
            try
            {
                ImageFiles.ReadRgb(path);
                return "read";
            }
            catch (InvalidDataException error)
            {
                return error.Message.Contains("pixels its header claims") ? "truncated" : "refused";
            }
        }).ToList();

        Assert.Equal(files.Count, python.Length);
        var differences = files.Select((path, i) => (Path.GetFileName(path), dotnet[i], python[i])).Where(v => v.Item2 != v.Item3).ToList();
        Assert.True(differences.Count == 0, "the engines differ on " + string.Join(", ", differences.Take(5).Select(d => $"{d.Item1} (.NET {d.Item2}, PyTorch {d.Item3})")) + $" ({differences.Count} files)");
        return (dotnet, python);
    }
}
