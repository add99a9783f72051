using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using ScottPlot;
using Segmenter.Runtime;
using Segmenter.Training.Records;
using SkiaSharp;

namespace Segmenter.Reports;

/// <summary>
/// <c>curves.png</c>: a run's training loss, learning rate and validation mIoU against the step, drawn with ScottPlot
/// from its metrics.jsonl (either engine's), one panel above the other with a shared step axis.
/// </summary>
public static class TrainingCurves
{
    /// <summary>The file name beside metrics.jsonl.</summary>
    public const string FileName = "curves.png";

    private const int Width = 1000;
    private const int PanelHeight = 300;

    /// <summary>Draws the curves of the run in <paramref name="runDirectory"/> into its curves.png (atomically); false if it has no metrics yet.</summary>
    public static bool Draw(string runDirectory) =>
        Draw(Path.Combine(runDirectory, RunRecord.MetricsFile), Path.Combine(runDirectory, FileName));

    /// <summary>Draws the curves of <paramref name="metricsPath"/> into <paramref name="pngPath"/> (atomically); false if there are no lines to draw.</summary>
    public static bool Draw(string metricsPath, string pngPath)
    {
        var lines = RunRecord.Read(metricsPath);
        var steps = Series(lines, "loss");
        if (steps.Count == 0) return false;
        var panels = new List<Plot>
        {
            Panel("training loss", "loss", steps, Colors.C0),
            Panel("learning rate", "lr", Series(lines, "lr"), Colors.C1),
        };
        var miou = Series(lines, "mIoU").Select(p => (p.Step, 100 * p.Value)).ToList();
        if (miou.Count > 0) panels.Add(Panel("validation mIoU (%)", "mIoU", miou, Colors.C2, markers: true));
        double lastStep = lines.Max(l => Step(l) ?? 0);
        foreach (var panel in panels)
        {
            panel.Axes.SetLimitsX(0, Math.Max(1, lastStep));
            panel.XLabel("step");
        }

        var info = new SKImageInfo(Width, PanelHeight * panels.Count);
        using var surface = SKSurface.Create(info);
        surface.Canvas.Clear(SKColors.White);
        for (int i = 0; i < panels.Count; i++)
        {
            using var bitmap = SKBitmap.Decode(panels[i].GetImageBytes(Width, PanelHeight, ImageFormat.Png));
            surface.Canvas.DrawBitmap(bitmap, 0, i * PanelHeight);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(pngPath, stream => png.SaveTo(stream));
        return true;
    }

    private static Plot Panel(string title, string label, IReadOnlyList<(double Step, double Value)> points, Color color, bool markers = false)
    {
        var plot = new Plot();
        var scatter = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray(), color);
        scatter.MarkerSize = markers || points.Count < 3 ? 6 : 0;
        scatter.LineWidth = 2;
        plot.Title(title);
        plot.YLabel(label);
        return plot;
    }

    /// <summary>(step, value) of every line that has a finite <paramref name="key"/>.</summary>
    private static List<(double Step, double Value)> Series(IReadOnlyList<JsonObject> lines, string key) =>
        lines.Select(l => (Step: Step(l), Value: l[key] is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : (double?)null))
             .Where(p => p.Step is not null && p.Value is not null)
             .Select(p => ((double)p.Step!, p.Value!.Value))
             .ToList();

    private static double? Step(JsonObject line) => line["step"] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
