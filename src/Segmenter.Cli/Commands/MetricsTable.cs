using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Training.Evaluation;
using Spectre.Console;

namespace Segmenter.Cli.Commands;

/// <summary>Metrics as mmsegmentation prints them: a per-class table, then aAcc, mIoU and mAcc (×100, two decimals).</summary>
internal static class MetricsTable
{
    public static void Write(CliConsole console, SegmentationMetrics metrics)
    {
        var classes = new Table().AddColumns("Class", "IoU", "Acc");
        foreach (var c in metrics.Classes) classes.AddRow(Markup.Escape(c.Name), Percent(c.IoU), Percent(c.Accuracy));
        console.Ansi.Write(classes);
        var summary = new Table().AddColumns("aAcc", "mIoU", "mAcc");
        summary.AddRow(Percent(metrics.PixelAccuracy), Percent(metrics.MeanIoU), Percent(metrics.MeanAccuracy));
        console.Ansi.Write(summary);
    }

    public static JsonObject Json(SegmentationMetrics metrics) => new()
    {
        ["aAcc"] = Round(metrics.PixelAccuracy),
        ["mIoU"] = Round(metrics.MeanIoU),
        ["mAcc"] = Round(metrics.MeanAccuracy),
        ["pixels"] = metrics.Pixels,
        ["classes"] = new JsonArray(metrics.Classes.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["IoU"] = Round(c.IoU),
            ["Acc"] = Round(c.Accuracy),
        }).ToArray()),
    };

    private static string Percent(double value) => double.IsNaN(value) ? "nan" : (100 * value).ToString("F2", CultureInfo.InvariantCulture);

    private static JsonNode? Round(double value) => double.IsNaN(value) ? null : JsonValue.Create(System.Math.Round(100 * value, 2));
}
