using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;
using SkippableFactAttribute = Xunit.SkippableFactAttribute;

namespace Segmenter.Cli.Tests;

/// <summary>
/// eval --report opened in a real browser (Debian's headless Chromium), and eval --onnx scoring an exported file the way
/// eval scores the model.
/// </summary>
public sealed class EvaluationReportTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-report-");
    private readonly string spec, data, checkpoint;

    public EvaluationReportTests()
    {
        spec = Path.Combine(folder.FullName, "wee.seg");
        File.WriteAllText(spec, "backbone Wee { layers = 1 width = 32 heads = 2 }\n" +
                                "model WeeModel { backbone = Wee patch = 8 image = 32 classes = (\"background\", \"disc\", \"box\") drop_path = 0.0 }\n");
        data = Path.Combine(folder.FullName, "data");
        var made = CliTests.Run("make-dataset", "--out", data, "--classes", "3", "--train", "8", "--val", "6", "--min-size", "32", "--max-size", "48");
        Assert.True(made.Exit == 0, made.Error);
        var run = Path.Combine(folder.FullName, "run");
        var trained = CliTests.Run("train", spec, "--data", data, "--dataset", "folder", "--iters", "20", "--batch", "4", "--crop", "32", "--lr", "0.01",
            "--out", run, "--device", "cpu", "--workers", "0", "--val-split", "none");
        Assert.True(trained.Exit == 0, trained.Error);
        checkpoint = Path.Combine(run, "last.safetensors");
    }

    public void Dispose() => folder.Delete(recursive: true);

    [SkippableFact]
    public void The_report_opens_offline_in_a_browser_with_its_pictures_and_legend()
    {
        var report = Path.Combine(folder.FullName, "report");
        var (exit, _, error) = CliTests.Run("eval", spec, "--checkpoint", checkpoint, "--data", data, "--dataset", "folder", "--mode", "whole", "--report", report);
        Assert.True(exit == 0, error);
        var page = Path.Combine(report, "index.html");
        var html = File.ReadAllText(page);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);   // nothing from elsewhere: it opens offline
        Assert.Equal(3 * 3 * 2, Directory.GetFiles(Path.Combine(report, "images"), "*.png").Length);   // best and worst: image, truth, prediction

        var (again, _, againError) = CliTests.Run("eval", spec, "--checkpoint", checkpoint, "--data", data, "--dataset", "folder", "--report", data);
        Assert.Equal(1, again);
        Assert.Contains("holds no earlier report", againError);   // never written over other files

        var dom = Chromium("--dump-dom", new Uri(page).AbsoluteUri);
        Assert.Contains("data-images=\"loaded\"", dom);   // every picture decoded in the browser
        foreach (var text in new[] { "IoU per class", "Confusion", "Best images", "Worst images", "disc", "box", "background" })
            Assert.Contains(text, dom);

        var screenshot = Path.Combine(folder.FullName, "report.png");
        Chromium($"--screenshot={screenshot}", "--window-size=1200,1600", new Uri(page).AbsoluteUri);
        using var picture = SkiaSharp.SKBitmap.Decode(screenshot);
        Assert.Equal(1200, picture.Width);
        Assert.True(picture.Pixels.Select(p => p.ToString()).Distinct().Count() > 50, "the screenshot is nearly blank");
    }

    [Fact]
    public void An_exported_file_scores_what_the_model_scores()
    {
        var onnx = Path.Combine(folder.FullName, "wee.onnx");
        var exported = CliTests.Run("export", spec, "--checkpoint", checkpoint, "--out", onnx);
        Assert.True(exported.Exit == 0, exported.Error);
        foreach (var mode in new[] { "whole", "slide", "multiscale" })
        {
            var model = Eval(spec, "--checkpoint", checkpoint, "--mode", mode);
            var file = Eval("--onnx", onnx, "--mode", mode);
            Assert.Equal("torchsharp", model.GetProperty("backend").GetString());
            Assert.Equal("onnxruntime (cpu)", file.GetProperty("backend").GetString());
            Assert.InRange(Math.Abs(model.GetProperty("mIoU").GetDouble() - file.GetProperty("mIoU").GetDouble()), 0, 0.05);
        }
        // int8 linear layers: the same classes on real images, within half a point of mIoU.
        var int8 = Path.Combine(folder.FullName, "wee-int8.onnx");
        var quantised = CliTests.Run("export", spec, "--checkpoint", checkpoint, "--out", int8, "--int8");
        Assert.True(quantised.Exit == 0, quantised.Error);
        Assert.Contains("classes agree on", quantised.Output);
        var floatScore = Eval(spec, "--checkpoint", checkpoint, "--mode", "whole").GetProperty("mIoU").GetDouble();
        // Side by side with the float32 file (--compare-with): the share of pixels whose class agrees, and both scores.
        var int8Run = Eval("--onnx", int8, "--mode", "whole", "--compare-with", onnx);
        var int8Score = int8Run.GetProperty("mIoU").GetDouble();
        Assert.True(Math.Abs(floatScore - int8Score) <= 0.5, $"float32 mIoU {floatScore}, int8 {int8Score}");
        var againstFloat = int8Run.GetProperty("comparison");
        Assert.Equal("wee.onnx", againstFloat.GetProperty("baseline").GetString());
        Assert.InRange(againstFloat.GetProperty("mIoU").GetDouble(), floatScore - 0.05, floatScore + 0.05);
        Assert.InRange(againstFloat.GetProperty("pixelAgreement").GetDouble(), 99, 100);
        Assert.True(againstFloat.GetProperty("pixelsCompared").GetInt64() >= int8Run.GetProperty("pixels").GetInt64());

        // bfloat16 products in the TorchSharp engine: within a point of float32, and the same classes almost everywhere.
        var bf16Run = Eval(spec, "--checkpoint", checkpoint, "--mode", "whole", "--precision", "bf16", "--compare-with", "float32");
        var bf16Score = bf16Run.GetProperty("mIoU").GetDouble();
        Assert.True(Math.Abs(floatScore - bf16Score) <= 1.0, $"float32 mIoU {floatScore}, bf16 {bf16Score}");
        Assert.Equal(floatScore, bf16Run.GetProperty("comparison").GetProperty("mIoU").GetDouble());
        Assert.InRange(bf16Run.GetProperty("comparison").GetProperty("pixelAgreement").GetDouble(), 99, 100);
        // The text output and the report say it too.
        var compared = Path.Combine(folder.FullName, "compared");
        var (textExit, text, textError) = CliTests.Run("eval", "--onnx", int8, "--data", data, "--dataset", "folder", "--mode", "whole", "--compare-with", onnx, "--report", compared);
        Assert.True(textExit == 0, textError);
        Assert.Matches(@"against wee\.onnx: classes agree on \d+\.\d\d % of [\d,]+ pixels; mIoU \d+\.\d\d here, \d+\.\d\d there", text);
        Assert.Contains("against wee.onnx: classes agree on", File.ReadAllText(Path.Combine(compared, "index.html")));
        var (sameExit, _, sameError) = CliTests.Run("eval", spec, "--checkpoint", checkpoint, "--data", data, "--dataset", "folder", "--compare-with", "float32");
        Assert.Equal(1, sameExit);
        Assert.Contains("add --precision bf16", sameError);
        var (otherExit, _, otherError) = CliTests.Run("eval", "--onnx", int8, "--data", data, "--dataset", "folder", "--compare-with", checkpoint);
        Assert.Equal(1, otherExit);
        Assert.Contains("give an exported .onnx file", otherError);
        var (badExit, _, badError) = CliTests.Run("eval", spec, "--checkpoint", checkpoint, "--data", data, "--dataset", "folder", "--precision", "fp8");
        Assert.Equal(1, badExit);
        Assert.Contains("--precision 'fp8': use float32 or bf16", badError);

        var (exit, _, error) = CliTests.Run("eval", "--onnx", onnx, "--data", data, "--dataset", "folder", "--trt-fp16");
        Assert.Equal(1, exit);
        Assert.Contains("add --provider tensorrt", error);
    }

    private JsonElement Eval(params string[] arguments)
    {
        var (exit, output, error) = CliTests.Run(new[] { "eval" }.Concat(arguments).Concat(new[] { "--data", data, "--dataset", "folder", "--json" }).ToArray());
        Assert.True(exit == 0, error);
        return JsonDocument.Parse(output).RootElement;
    }

    /// <summary>
    /// Runs Debian's Chromium headless and returns its output. .ci/run installs it; elsewhere, without it, the browser part
    /// of the test is skipped (apt-get install chromium to run it), as the project's other tests that need a Debian package.
    /// </summary>
    private static string Chromium(params string[] arguments)
    {
        const string path = "/usr/bin/chromium";
        if (!File.Exists(path))
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase), $"{path} is missing in CI: .ci/run installs Debian's chromium");
            Skip.If(true, "Debian's Chromium is not installed here (apt-get install chromium): the report was checked as a file only");
        }
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--virtual-time-budget=5000" }.Concat(arguments))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "Chromium did not finish within 2 minutes");
        Assert.True(process.ExitCode == 0, $"Chromium exited with {process.ExitCode}: {error.Result}");
        return output;
    }
}
