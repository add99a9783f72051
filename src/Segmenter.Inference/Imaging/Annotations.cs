using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SkiaSharp;

namespace Segmenter.Inference.Imaging;

/// <summary>
/// Keys drawn beside a picture so that it reads on its own: a legend of the classes an overlay shows, and a colour scale
/// with the values a heat map's colours stand for.
/// </summary>
public static class Annotations
{
    private const int Margin = 8, Swatch = 14, Row = 20, FontSize = 13;

    /// <summary>
    /// <paramref name="image"/> with a legend band at its right: a colour swatch and the name of each entry (for an overlay,
    /// the classes present, with their palette colours).
    /// </summary>
    public static RgbImage WithLegend(RgbImage image, IReadOnlyList<(string Name, (byte R, byte G, byte B) Color)> entries)
    {
        using var font = new SKFont(SKTypeface.Default, FontSize);
        float widest = entries.Count == 0 ? 0 : entries.Max(e => font.MeasureText(e.Name));
        int band = Margin * 3 + Swatch + (int)Math.Ceiling(widest);
        int height = Math.Max(image.Height, Margin * 2 + entries.Count * Row);
        return Draw(image, band, height, canvas =>
        {
            using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            using var edge = new SKPaint { Color = SKColors.Gray, Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
            for (int i = 0; i < entries.Count; i++)
            {
                var (name, (r, g, b)) = entries[i];
                float top = Margin + i * Row;
                var box = SKRect.Create(image.Width + Margin, top, Swatch, Swatch);
                using var fill = new SKPaint { Color = new SKColor(r, g, b) };
                canvas.DrawRect(box, fill);
                canvas.DrawRect(box, edge);
                canvas.DrawText(name, box.Right + Margin, top + Swatch - 2, SKTextAlign.Left, font, text);
            }
        });
    }

    /// <summary>
    /// <paramref name="image"/> (a heat map) with a vertical colour bar at its right, from <paramref name="high"/> at the top to
    /// <paramref name="low"/> at the bottom, labelled with both values and their midpoint.
    /// </summary>
    public static RgbImage WithColorScale(RgbImage image, double low, double high, string? title = null)
    {
        using var font = new SKFont(SKTypeface.Default, FontSize);
        string Label(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
        var labels = new[] { Label(high), Label((low + high) / 2), Label(low) };
        float widest = Math.Max(labels.Max(l => font.MeasureText(l)), title is null ? 0 : font.MeasureText(title) - 20);
        int band = Margin * 3 + 20 + (int)Math.Ceiling(widest);
        int height = Math.Max(image.Height, 120);
        return Draw(image, band, height, canvas =>
        {
            using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            float top = Margin + (title is null ? 0 : Row), bottom = height - Margin;
            if (title is not null) canvas.DrawText(title, image.Width + Margin, Margin + FontSize, SKTextAlign.Left, font, text);
            for (int y = (int)top; y < (int)bottom; y++)
            {
                var (r, g, b) = Overlays.HeatColor(1 - (y - top) / Math.Max(1, bottom - top - 1));
                using var line = new SKPaint { Color = new SKColor(r, g, b) };
                canvas.DrawRect(SKRect.Create(image.Width + Margin, y, 20, 1), line);
            }
            float x = image.Width + Margin * 2 + 20;
            canvas.DrawText(labels[0], x, top + FontSize, SKTextAlign.Left, font, text);
            canvas.DrawText(labels[1], x, (top + bottom) / 2 + FontSize / 2f, SKTextAlign.Left, font, text);
            canvas.DrawText(labels[2], x, bottom, SKTextAlign.Left, font, text);
        });
    }

    /// <summary>The image on a white canvas widened by <paramref name="band"/> pixels, with <paramref name="drawKey"/> drawing in the band.</summary>
    private static RgbImage Draw(RgbImage image, int band, int height, Action<SKCanvas> drawKey)
    {
        var info = new SKImageInfo(image.Width + band, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using (var picture = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            var rgba = image.ToRgba();
            System.Runtime.InteropServices.Marshal.Copy(rgba, 0, picture.GetPixels(), rgba.Length);
            canvas.DrawBitmap(picture, 0, 0);
        }
        drawKey(canvas);
        using var result = new SKBitmap(info);
        surface.ReadPixels(info, result.GetPixels(), info.RowBytes, 0, 0);
        return RgbImage.FromRgba(info.Width, info.Height, result.Bytes);
    }
}
