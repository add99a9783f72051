using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace Segmenter.Cli.Benchmarks;

/// <summary>One measurement.</summary>
internal sealed record BenchResult(string Model, string Backend, int Height, int Width, int Batch, int Threads, bool Train, double LatencyMedianMs, double LatencyP90Ms,
    double ImagesPerSecond, double GflopsPerImage, double GflopsPerSecond, double PeakFraction, double MatmulPeakGflops, long PeakRssBytes, long ParameterBytes,
    IReadOnlyDictionary<string, double>? Stages)
{
    public JsonObject ToJson()
    {
        var node = new JsonObject
        {
            ["model"] = Model,
            ["backend"] = Backend,
            ["mode"] = Train ? "train" : "inference",
            ["size"] = new JsonArray(Height, Width),
            ["batch"] = Batch,
            ["threads"] = Threads,
            ["latencyMedianMs"] = Math.Round(LatencyMedianMs, 2),
            ["latencyP90Ms"] = Math.Round(LatencyP90Ms, 2),
            ["imagesPerSecond"] = Math.Round(ImagesPerSecond, 3),
            ["gflopsPerImage"] = Math.Round(GflopsPerImage, 3),
            ["gflopsPerSecond"] = Math.Round(GflopsPerSecond, 2),
            ["peakFraction"] = Math.Round(PeakFraction, 4),
            ["matmulPeakGflops"] = Math.Round(MatmulPeakGflops, 2),
            ["peakRssBytes"] = PeakRssBytes,
            ["parameterBytes"] = ParameterBytes,
        };
        if (Stages is not null)
            node["stagesMs"] = new JsonObject(Stages.Select(s => new KeyValuePair<string, JsonNode?>(s.Key, Math.Round(s.Value, 2))));
        return node;
    }
}
