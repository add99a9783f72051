using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Runtime;
using Segmenter.Serving.Client;
using Spectre.Console;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>bench --serve URL [--model NAME] [--concurrency C] [--rate R] [--duration S] [--size HxW] [--batch N] [--api-key K]</c>: a
/// load test of a running server (this project's or Triton), closed (C clients) or open (R requests a second), with throughput,
/// latency percentiles, errors and the server's memory.
/// </summary>
internal sealed class ServeLoadOptions
{
    public Option<string?> Url { get; } = new("--serve") { Description = "Load a running server at this URL (segmenter serve, Triton, KServe) instead of measuring models in process." };

    public Option<string?> Model { get; } = new("--model") { Description = "With --serve: the model's name on the server (default: the first the server lists)." };

    public Option<int> Concurrency { get; } = new Option<int>("--concurrency")
    {
        Description = $"With --serve: clients sending at once, each waiting for its answer before the next; with --rate, the most requests in flight (default {OpenLoopInFlight}).",
        DefaultValueFactory = _ => 4,
    }.AtLeast(1, "at least 1 client");

    public Option<double?> Rate { get; } = new Option<double?>("--rate")
    {
        Description = "With --serve: an open load of this many requests a second, sent on schedule whatever the answers (how overload is measured; a closed load's clients wait out each 503's Retry-After).",
    }.Within(double.Epsilon, double.MaxValue, "a positive number of requests a second");

    /// <summary>The default cap on requests in flight in an open load.</summary>
    public const int OpenLoopInFlight = 256;

    public Option<double> Duration { get; } = new Option<double>("--duration") { Description = "With --serve: seconds of load (after 3 s of warm-up).", DefaultValueFactory = _ => 30 }
        .Within(double.Epsilon, double.MaxValue, "a positive number of seconds");

    public Option<string?> ApiKey { get; } = new("--api-key") { Description = $"With --serve: the server's API key (or set {ServeCommand.ApiKeyVariable})." };

    public void AddTo(Command command)
    {
        command.Add(Url);
        command.Add(Model);
        command.Add(Concurrency);
        command.Add(Rate);
        command.Add(Duration);
        command.Add(ApiKey);
    }

    public bool Requested(ParseResult result) => result.GetValue(Url) is not null;

    public int Run(ParseResult result, CliConsole console, IReadOnlyList<(int Height, int Width)> sizes, int batch, bool json)
    {
        var url = result.GetValue(Url)!;
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--serve {url}: give the server's address, e.g. http://127.0.0.1:8080");
        var key = result.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable(ServeCommand.ApiKeyVariable);
        var rate = result.GetValue(Rate);
        int concurrency = rate is not null && (result.GetResult(Concurrency)?.Implicit ?? true) ? OpenLoopInFlight : result.GetValue(Concurrency);
        var results = new List<LoadResult>();
        foreach (var (height, width) in sizes)
        {
            var options = new LoadOptions(server, result.GetValue(Model), concurrency, TimeSpan.FromSeconds(result.GetValue(Duration)), height, width, batch,
                string.IsNullOrWhiteSpace(key) ? null : key, Warmup: TimeSpan.FromSeconds(3), Rate: rate);
            if (!json)
                console.Err.WriteLine(rate is { } r
                    ? $"loading {server} with {r:0.##} requests a second (at most {concurrency} in flight) for {options.Duration.TotalSeconds:0} s, {height}×{width} images …"
                    : $"loading {server} with {concurrency} clients for {options.Duration.TotalSeconds:0} s, {height}×{width} images …");
            try
            {
                results.Add(LoadTest.RunAsync(options, line => console.Err.WriteLine("  " + line)).GetAwaiter().GetResult());
            }
            catch (InferenceServerException e)
            {
                throw new CommandFailedException($"{server}: the first request failed with {e.Message}");
            }
            catch (System.Net.Http.HttpRequestException e)
            {
                throw new CommandFailedException($"{server}: cannot reach the server ({e.Message})");
            }
        }
        if (json)
        {
            console.Out.WriteLine(Json.Write(new JsonArray(results.Select(r => (JsonNode)ToJson(r)).ToArray())));
            return results.Any(r => r.Errors > 0) ? 1 : 0;
        }
        var table = new Table().AddColumns("model", "size", "batch", "load", "s", "img/s", "200", "503", "errors", "p50 ms", "p90 ms", "p99 ms", "503 p99 ms", "server RSS MB before → peak → after");
        foreach (var r in results)
        {
            var load = r.Rate is { } perSecond ? $"{perSecond:0.##}/s open" + (r.NotSent > 0 ? $" ({r.NotSent} not sent: {r.Concurrency} in flight)" : "") : $"{r.Concurrency} clients";
            table.AddRow(r.Model, $"{r.Height}×{r.Width}", $"{r.Batch}", load, F(r.Seconds, 0), F(r.ImagesPerSecond, 2), $"{r.ByStatus.GetValueOrDefault(200)}",
                $"{r.ByStatus.GetValueOrDefault(503)}", $"{r.Errors}", F(r.Ok.P50, 1), F(r.Ok.P90, 1), F(r.Ok.P99, 1), r.Busy.Count > 0 ? F(r.Busy.P99, 1) : "-",
                r.ServerRssBefore is { } before && r.ServerRssAfter is { } after ? $"{before / 1e6:F0} → {(r.ServerRssPeak ?? after) / 1e6:F0} → {after / 1e6:F0}" : "n/a");
        }
        console.Ansi.Write(table);
        console.Out.WriteLine($"client on this machine: CPU {PlatformInfo.Processor} ({string.Join(", ", PlatformInfo.VectorFeatures)}), {Environment.ProcessorCount} cores shared with the server if it runs here");
        foreach (var r in results.Where(r => r.Errors > 0))
            console.Warning($"{r.Errors} requests failed (status other than 200 and 503, or no answer): {string.Join(", ", r.ByStatus.Where(s => s.Key is not (200 or 503)).Select(s => $"{s.Value}× {s.Key}"))}" +
                            (r.TransportErrors > 0 ? $", {r.TransportErrors} without an answer" : ""));
        return results.Any(r => r.Errors > 0) ? 1 : 0;
    }

    private static JsonObject ToJson(LoadResult r) => new()
    {
        ["model"] = r.Model,
        ["height"] = r.Height,
        ["width"] = r.Width,
        ["batch"] = r.Batch,
        ["concurrency"] = r.Concurrency,
        ["seconds"] = r.Seconds,
        ["imagesPerSecond"] = r.ImagesPerSecond,
        ["byStatus"] = new JsonObject(r.ByStatus.Select(s => KeyValuePair.Create(s.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)s.Value))),
        ["errors"] = r.Errors,
        ["transportErrors"] = r.TransportErrors,
        ["latencyMs"] = Percentiles(r.Ok),
        ["latency503Ms"] = Percentiles(r.Busy),
        ["latencyAllMs"] = Percentiles(r.All),
        ["serverRssBefore"] = r.ServerRssBefore,
        ["serverRssAfter"] = r.ServerRssAfter,
        ["serverRssPeak"] = r.ServerRssPeak,
        ["rate"] = r.Rate,
        ["notSent"] = r.NotSent,
        ["processor"] = PlatformInfo.Processor,
        ["isa"] = new JsonArray(PlatformInfo.VectorFeatures.Select(f => (JsonNode)f).ToArray()),
    };

    private static JsonObject Percentiles(Latencies l) => new() { ["count"] = l.Count, ["p50"] = l.P50, ["p90"] = l.P90, ["p99"] = l.P99, ["max"] = l.Max };

    private static string F(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);
}
