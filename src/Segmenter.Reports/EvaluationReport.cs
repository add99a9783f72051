using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using Segmenter.Inference.Imaging;
using Segmenter.Runtime;
using Segmenter.Training.Data;
using Segmenter.Training.Evaluation;

namespace Segmenter.Reports;

/// <summary>
/// <c>eval --report DIR</c>: a static HTML page that opens offline in any browser (no scripts from elsewhere, no fonts
/// or styles from a CDN): the metrics, a per-class IoU chart, the confusion among the most confused classes as a heat
/// map, and the best and worst images with their ground truth and prediction, with class names and a colour legend.
/// Feed it every prediction with <see cref="Observe"/>, then <see cref="Write"/> it.
/// </summary>
public sealed class EvaluationReport
{
    /// <summary>The file that marks a folder as holding a report (so a later report may replace it).</summary>
    public const string Marker = ".segmenter-report";

    private readonly SegmentationDataset dataset;
    private readonly int shown;
    private readonly ConfusionMatrix matrix;
    private readonly List<(int Index, double Score, LabelMap Prediction)> best = new(), worst = new();

    /// <summary>A report on <paramref name="dataset"/> showing the <paramref name="shown"/> best and worst images.</summary>
    public EvaluationReport(SegmentationDataset dataset, int shown = 3)
    {
        this.dataset = dataset;
        this.shown = Math.Max(1, shown);
        matrix = new ConfusionMatrix(dataset.NumClasses);
    }

    /// <summary>Refuses a folder that holds anything but an earlier report: a report never replaces other files.</summary>
    public static void CheckFolder(string directory)
    {
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any() && !File.Exists(Path.Combine(directory, Marker)))
            throw new IOException($"{directory} is not empty and holds no earlier report: choose a new folder for --report");
    }

    /// <summary>Takes one image's prediction (what <see cref="DatasetEvaluation"/>'s onPrediction gives).</summary>
    public void Observe(int index, LabelMap prediction, LabelMap truth)
    {
        matrix.Add(truth, prediction);
        var single = new ConfusionMatrix(dataset.NumClasses);
        single.Add(truth, prediction);
        double score = single.Compute().MeanIoU;
        if (double.IsNaN(score)) return;   // nothing labelled in this image
        Keep(best, (index, score, prediction), (a, b) => b.Score.CompareTo(a.Score));
        Keep(worst, (index, score, prediction), (a, b) => a.Score.CompareTo(b.Score));
    }

    private void Keep(List<(int Index, double Score, LabelMap Prediction)> list, (int, double, LabelMap) entry, Comparison<(int Index, double Score, LabelMap Prediction)> order)
    {
        list.Add(entry);
        list.Sort(order);
        if (list.Count > shown) list.RemoveAt(list.Count - 1);
    }

    /// <summary>Writes DIR/index.html and its pictures (DIR/images/); returns the page's path.</summary>
    /// <param name="directory">The report folder (new, empty, or an earlier report's).</param>
    /// <param name="metrics">The dataset-level metrics.</param>
    /// <param name="title">What was evaluated (model, backend, mode).</param>
    /// <param name="comparison">A line on how the predictions compare with a baseline's (<c>eval --compare-with</c>), if any.</param>
    public string Write(string directory, SegmentationMetrics metrics, string title, string? comparison = null)
    {
        CheckFolder(directory);
        var images = Path.Combine(directory, "images");
        Directory.CreateDirectory(images);
        AtomicFile.WriteText(Path.Combine(directory, Marker), "an evaluation report written by segmenter eval --report\n");
        var palette = Palettes.Voc;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append($"<title>{E(title)}</title>\n<style>\n{Style}</style>\n</head>\n<body>\n");
        html.Append($"<h1>{E(title)}</h1>\n");
        html.Append($"<p class=\"meta\">{dataset.Count} images of {E(dataset.Root)} ({E(dataset.Split)}), {metrics.Pixels:N0} labelled pixels, " +
                    $"{dataset.NumClasses} classes; written {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC.</p>\n");
        if (comparison is not null) html.Append($"<p class=\"meta\">{E(comparison)}</p>\n");

        html.Append("<h2>Metrics</h2>\n<table class=\"metrics\"><tr><th>aAcc</th><th>mIoU</th><th>mAcc</th></tr>\n");
        html.Append($"<tr><td>{P(metrics.PixelAccuracy)}</td><td>{P(metrics.MeanIoU)}</td><td>{P(metrics.MeanAccuracy)}</td></tr></table>\n");

        html.Append("<h2>IoU per class</h2>\n<table class=\"classes\"><tr><th>class</th><th>IoU</th><th></th><th>Acc</th></tr>\n");
        foreach (var (c, index) in metrics.Classes.Select((c, i) => (c, i)).OrderByDescending(x => double.IsNaN(x.c.IoU) ? -1 : x.c.IoU))
        {
            double width = double.IsNaN(c.IoU) ? 0 : 100 * c.IoU;
            html.Append($"<tr><td>{Swatch(palette[index])}{E(c.Name)}</td><td class=\"n\">{P(c.IoU)}</td>" +
                        $"<td class=\"bar\"><div style=\"width:{width.ToString("F1", CultureInfo.InvariantCulture)}%\"></div></td><td class=\"n\">{P(c.Accuracy)}</td></tr>\n");
        }
        html.Append("</table>\n<p class=\"note\">n/a: the class is neither in the labels nor in the predictions.</p>\n");

        AppendConfusion(html, metrics);
        AppendExamples(html, images, "Best images", "best", best, palette);
        // A small split: the worst images leave out those already shown as the best.
        AppendExamples(html, images, "Worst images", "worst", worst.Where(w => best.All(b => b.Index != w.Index)).ToList(), palette);
        // The page's only script, inline: marks whether every picture loaded (checked by a test in a real browser).
        html.Append("<script>addEventListener('load', () => document.body.dataset.images = " +
                    "[...document.images].every(i => i.complete && i.naturalWidth > 0) ? 'loaded' : 'broken');</script>\n");
        html.Append("</body>\n</html>\n");
        var page = Path.Combine(directory, "index.html");
        AtomicFile.WriteText(page, html.ToString());
        return page;
    }

    /// <summary>The confusion among the classes most often mistaken for one another, row-normalised, as a heat map.</summary>
    private void AppendConfusion(StringBuilder html, SegmentationMetrics metrics)
    {
        int k = matrix.Classes;
        var totals = Enumerable.Range(0, k).Select(t => Enumerable.Range(0, k).Sum(p => matrix[t, p])).ToArray();
        var pairs = (from t in Enumerable.Range(0, k)
                     from p in Enumerable.Range(0, k)
                     where t != p && matrix[t, p] > 0
                     orderby matrix[t, p] descending
                     select (Truth: t, Predicted: p, Count: matrix[t, p])).Take(10).ToList();
        html.Append("<h2>Confusion</h2>\n");
        if (pairs.Count == 0)
        {
            html.Append("<p>No pixel was given a wrong class.</p>\n");
            return;
        }
        var chosen = pairs.SelectMany(p => new[] { p.Truth, p.Predicted }).Distinct().Take(12).OrderBy(c => c).ToList();
        html.Append("<p>Share of each true class's pixels (rows) predicted as each class (columns), for the classes in the most frequent confusions.</p>\n");
        html.Append("<table class=\"confusion\"><tr><th>true \\ predicted</th>");
        foreach (var c in chosen) html.Append($"<th>{E(metrics.Classes[c].Name)}</th>");
        html.Append("</tr>\n");
        foreach (var t in chosen)
        {
            html.Append($"<tr><th>{E(metrics.Classes[t].Name)}</th>");
            foreach (var p in chosen)
            {
                double share = totals[t] == 0 ? 0 : (double)matrix[t, p] / totals[t];
                var (r, g, b) = Overlays.HeatColor(share);
                string ink = share > 0.6 ? "#000" : "#fff";
                html.Append($"<td style=\"background:rgb({r},{g},{b});color:{ink}\">{(totals[t] == 0 ? "–" : (100 * share).ToString("F1", CultureInfo.InvariantCulture))}</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</table>\n<h3>Most frequent confusions</h3>\n<ol>\n");
        foreach (var (t, p, count) in pairs)
            html.Append($"<li>{E(metrics.Classes[t].Name)} → {E(metrics.Classes[p].Name)}: {count:N0} pixels, " +
                        $"{(100.0 * count / totals[t]).ToString("F1", CultureInfo.InvariantCulture)}% of the true {E(metrics.Classes[t].Name)}</li>\n");
        html.Append("</ol>\n");
    }

    private void AppendExamples(StringBuilder html, string images, string heading, string name, List<(int Index, double Score, LabelMap Prediction)> examples,
        IReadOnlyList<(byte R, byte G, byte B)> palette)
    {
        html.Append($"<h2>{heading}</h2>\n");
        if (examples.Count == 0)
        {
            html.Append(name == "worst" ? "<p>Every image is among the best above.</p>\n" : "<p>No image had labelled pixels.</p>\n");
            return;
        }
        for (int i = 0; i < examples.Count; i++)
        {
            var (index, score, prediction) = examples[i];
            var (image, truth) = dataset.Load(index);
            var stem = $"{name}-{i + 1}";
            ImageFiles.WritePng(Path.Combine(images, stem + ".png"), image);
            // Ignored pixels (255) show in the palette's ignore colour in the ground-truth overlay.
            ImageFiles.WritePng(Path.Combine(images, stem + "-truth.png"), Overlays.Blend(image, truth, palette));
            ImageFiles.WritePng(Path.Combine(images, stem + "-prediction.png"), Overlays.Blend(image, prediction, palette));
            var present = truth.Labels.Concat(prediction.Labels).Where(v => v != LabelMap.Ignore).Distinct().OrderBy(v => v);
            var file = Path.GetFileName(dataset.Samples[index].ImagePath);
            html.Append($"<div class=\"example\"><h3>{E(file)}: mIoU {P(score)}</h3>\n<div class=\"row\">");
            html.Append($"<figure><img src=\"images/{stem}.png\" alt=\"image\"><figcaption>image</figcaption></figure>");
            html.Append($"<figure><img src=\"images/{stem}-truth.png\" alt=\"ground truth\"><figcaption>ground truth</figcaption></figure>");
            html.Append($"<figure><img src=\"images/{stem}-prediction.png\" alt=\"prediction\"><figcaption>prediction</figcaption></figure></div>\n");
            html.Append("<p class=\"legend\">");
            foreach (var v in present) html.Append($"<span>{Swatch(palette[v])}{E(dataset.ClassNames[v])}</span> ");
            html.Append("</p></div>\n");
        }
    }

    private static string Swatch((byte R, byte G, byte B) c) => $"<i class=\"swatch\" style=\"background:rgb({c.R},{c.G},{c.B})\"></i>";

    private static string P(double value) => double.IsNaN(value) ? "n/a" : (100 * value).ToString("F2", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Style = """
        body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
        h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
        table { border-collapse: collapse; } th, td { padding: 3px 8px; border: 1px solid #ddd; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        td.bar { width: 320px; } td.bar div { height: 12px; background: #3b528b; }
        table.metrics td { font-size: 1.3em; text-align: center; }
        table.confusion td { text-align: center; min-width: 3em; font-size: 0.9em; }
        .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px; border: 1px solid #888; vertical-align: middle; }
        .row { display: flex; gap: 8px; } figure { margin: 0; flex: 1; } figure img { width: 100%; image-rendering: pixelated; }
        figcaption, .note, .meta { color: #666; font-size: 0.9em; } .legend span { margin-right: 12px; white-space: nowrap; }

        """;
}
