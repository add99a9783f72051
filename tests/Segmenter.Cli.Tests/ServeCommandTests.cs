using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Segmenter.Inference.Imaging;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>
/// <c>segmenter serve</c> as a user runs it: a process of its own, the same labels as <c>predict</c>, loaded by
/// <c>bench --serve</c>, request logs as JSON lines, and a graceful stop on SIGTERM.
/// </summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-serve-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public async Task Serve_answers_as_predict_is_loaded_by_bench_and_answers_requests_in_flight_on_sigterm()
    {
        var spec = Path.Combine(folder.FullName, "wee.seg");
        File.WriteAllText(spec, "backbone Wee { layers = 1 width = 32 heads = 2 }\nmodel WeeServed { backbone = Wee patch = 8 image = 32 classes = 3 }\n");
        var onnx = Path.Combine(folder.FullName, "wee.onnx");
        var exported = CliTests.Run("export", spec, "--out", onnx);
        Assert.True(exported.Exit == 0, exported.Error);
        var image = Path.Combine(folder.FullName, "scene.png");
        var picture = new RgbImage(70, 45);
        for (int y = 0; y < 45; y++)
        for (int x = 0; x < 70; x++) picture.Set(x, y, (byte)(x * 3), (byte)(y * 5), (byte)((x * y) % 255));
        ImageFiles.WritePng(image, picture);
        var predicted = CliTests.Run("predict", "--onnx", onnx, "--image", image, "--out", Path.Combine(folder.FullName, "predicted"));
        Assert.True(predicted.Exit == 0, predicted.Error);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { typeof(Program).Assembly.Location, "serve", onnx, "--port", "0", "--warmup", "none", "--threads", "1", "--instances", "2", "--model-priority", "low" })   // idle would starve behind other test runs
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        try
        {
            var logs = process.StandardOutput.ReadToEndAsync();
            string? banner;
            var stderr = new System.Text.StringBuilder();
            while ((banner = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120))) is not null)
            {
                stderr.AppendLine(banner);
                if (banner.StartsWith("serving ", StringComparison.Ordinal)) break;
            }
            Assert.True(banner is not null, "the server did not start: " + stderr);
            Assert.Contains("page:", await process.StandardError.ReadLineAsync());
            Assert.Contains("label-only requests: the argmax of the upsampled class maps", await process.StandardError.ReadLineAsync());
            Assert.Contains("2 instances side by side, 1 thread each", await process.StandardError.ReadLineAsync());
            Assert.Contains("batches of up to 1 image within", await process.StandardError.ReadLineAsync());   // the default with several instances on the CPU
            var address = new Uri(Regex.Match(banner!, @"at (http://\S+)").Groups[1].Value);
            Assert.Contains("weeserved", banner);
            var rest = process.StandardError.ReadToEndAsync();

            using var http = new HttpClient { BaseAddress = address };
            var content = new ByteArrayContent(File.ReadAllBytes(image));
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var response = await http.PostAsync("/v2/models/weeserved/segment", content);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            var served = Path.Combine(folder.FullName, "served.png");
            File.WriteAllBytes(served, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(ImageFiles.ReadLabels(Path.Combine(folder.FullName, "predicted", "scene.png")).Labels, ImageFiles.ReadLabels(served).Labels);

            var (benchExit, benchOutput, benchError) = CliTests.Run("bench", "--serve", address.ToString(), "--concurrency", "2", "--duration", "2", "--size", "40x56", "--json");
            Assert.True(benchExit == 0, benchError);
            var load = JsonDocument.Parse(benchOutput).RootElement[0];
            Assert.Equal("weeserved", load.GetProperty("model").GetString());
            Assert.Equal(0, load.GetProperty("errors").GetInt32());
            Assert.True(load.GetProperty("imagesPerSecond").GetDouble() > 0);
            Assert.True(load.GetProperty("latencyMs").GetProperty("p99").GetDouble() >= load.GetProperty("latencyMs").GetProperty("p50").GetDouble());
            Assert.True(load.GetProperty("serverRssAfter").GetInt64() > 0);

            // SIGTERM while requests are in flight: each is answered, then the server exits.
            using var client = new Segmenter.Serving.Client.InferenceClient(address);
            var images = new float[3 * 512 * 512];
            var inFlight = Enumerable.Range(0, 12).Select(_ => client.InferAsync("weeserved", images, 1, 512, 512, new[] { "labels" })).ToList();
            var clock = Stopwatch.StartNew();
            while (InFlight(await http.GetStringAsync("/metrics")) < 4 && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(5);
            Assert.Equal(0, Kill(process.Id, "TERM"));
            foreach (var call in inFlight) Assert.Equal(512 * 512, (await call)[0].AsIndices().Length);
            Assert.True(process.WaitForExit(60_000), "the server did not stop within a minute of SIGTERM");
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("stopped", await rest);
            var lines = (await logs).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var segment = lines.First(l => l.GetProperty("State").GetProperty("Path").GetString() == "/v2/models/weeserved/segment");
            Assert.Equal(200, segment.GetProperty("State").GetProperty("Status").GetInt32());
            Assert.Matches("^[0-9a-f]{16}$", segment.GetProperty("State").GetProperty("RequestId").GetString());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Theory]
    [InlineData("--max-batch 0", "--max-batch 0")]
    [InlineData("--engine tensorflow", "use onnx or torch")]
    [InlineData("--model-priority high", "use idle, low or normal")]
    [InlineData("--instances 0", "--instances 0: give 1 to 64")]
    [InlineData("--engine torch --instances 2", "--engine torch runs one model")]
    [InlineData("--host example.org", "give an IP address")]
    [InlineData("--engine torch --provider cuda", "apply to ONNX Runtime: use --engine onnx")]
    [InlineData("--max-body-mb 4096", "--max-body-mb 4096: give 1 KB to 2047 MB")]
    [InlineData("--max-image-pixels 0", "--max-image-pixels 0: give 1 to")]
    public void Serve_refuses_bad_settings_before_listening(string options, string message)
    {
        var (exit, _, error) = CliTests.Run(new[] { "serve", "SegT16" }.Concat(options.Split(' ')).ToArray());
        Assert.Equal(1, exit);
        Assert.Contains(message, error);
    }

    [Fact]
    public void Bench_refuses_a_server_address_that_is_not_http()
    {
        var (exit, _, error) = CliTests.Run("bench", "--serve", "ftp://x");
        Assert.Equal(1, exit);
        Assert.Contains("give the server's address", error);
    }

    /// <summary>segmenter_requests_in_flight from a /metrics text.</summary>
    private static double InFlight(string metrics) =>
        double.Parse(metrics.Split('\n').First(l => l.StartsWith("segmenter_requests_in_flight ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    private static int Kill(int pid, string signal)
    {
        using var kill = Process.Start("kill", new[] { "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) })!;
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
