using System;
using System.Collections.Generic;

namespace Segmenter.Inference.Imaging;

/// <summary>Pictures of results: colour-coded labels, labels blended over an image, heat maps blended over an image.</summary>
public static class Overlays
{
    /// <summary>Each pixel coloured by its class.</summary>
    public static RgbImage Colorize(LabelMap labels, IReadOnlyList<(byte R, byte G, byte B)> palette)
    {
        var image = new RgbImage(labels.Width, labels.Height);
        for (int i = 0; i < labels.Labels.Length; i++)
        {
            var (r, g, b) = palette[labels.Labels[i]];
            image.Pixels[3 * i] = r;
            image.Pixels[3 * i + 1] = g;
            image.Pixels[3 * i + 2] = b;
        }
        return image;
    }

    /// <summary><paramref name="image"/> with the class colours blended in at <paramref name="opacity"/>.</summary>
    public static RgbImage Blend(RgbImage image, LabelMap labels, IReadOnlyList<(byte R, byte G, byte B)> palette, double opacity = 0.5)
    {
        CheckSameSize(image.Width, image.Height, labels.Width, labels.Height);
        var colors = Colorize(labels, palette);
        return Mix(image, colors, opacity);
    }

    /// <summary>
    /// A heat map of <paramref name="values"/> (a gridHeight × gridWidth grid, row-major) stretched over
    /// <paramref name="image"/> with bilinear interpolation, scaled to its own min–max, coloured from dark
    /// blue (low) through green to yellow (high), and blended at <paramref name="opacity"/>.
    /// </summary>
    public static RgbImage HeatMap(RgbImage image, float[] values, int gridHeight, int gridWidth, double opacity = 0.6)
    {
        if (values.Length != gridHeight * gridWidth) throw new ArgumentException($"a {gridHeight}×{gridWidth} grid needs {gridHeight * gridWidth} values, got {values.Length}");
        float min = float.MaxValue, max = float.MinValue;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        float range = max > min ? max - min : 1;
        var heat = new RgbImage(image.Width, image.Height);
        for (int y = 0; y < image.Height; y++)
        {
            double gy = Math.Clamp((y + 0.5) * gridHeight / image.Height - 0.5, 0, gridHeight - 1);
            int y0 = (int)gy, y1 = Math.Min(y0 + 1, gridHeight - 1);
            double fy = gy - y0;
            for (int x = 0; x < image.Width; x++)
            {
                double gx = Math.Clamp((x + 0.5) * gridWidth / image.Width - 0.5, 0, gridWidth - 1);
                int x0 = (int)gx, x1 = Math.Min(x0 + 1, gridWidth - 1);
                double fx = gx - x0;
                double v = (1 - fy) * ((1 - fx) * values[y0 * gridWidth + x0] + fx * values[y0 * gridWidth + x1])
                           + fy * ((1 - fx) * values[y1 * gridWidth + x0] + fx * values[y1 * gridWidth + x1]);
                var (r, g, b) = ColorMap((v - min) / range);
                heat.Set(x, y, r, g, b);
            }
        }
        return Mix(image, heat, opacity);
    }

    private static RgbImage Mix(RgbImage under, RgbImage over, double opacity)
    {
        var result = new RgbImage(under.Width, under.Height);
        for (int i = 0; i < result.Pixels.Length; i++)
            result.Pixels[i] = (byte)Math.Round((1 - opacity) * under.Pixels[i] + opacity * over.Pixels[i]);
        return result;
    }

    /// <summary>A perceptually ordered dark-blue → teal → green → yellow ramp for t in [0, 1].</summary>
    private static readonly double[] Stops = { 68, 1, 84, 59, 82, 139, 33, 145, 140, 94, 201, 98, 253, 231, 37 };

    /// <summary>The heat-map colour of <paramref name="t"/> in [0, 1] (what <see cref="HeatMap"/> uses; for colour scales).</summary>
    public static (byte R, byte G, byte B) HeatColor(double t) => ColorMap(t);

    private static (byte, byte, byte) ColorMap(double t)
    {
        t = Math.Clamp(t, 0, 1) * 4;
        int i = Math.Min(3, (int)t);
        double f = t - i;
        byte Channel(int c) => (byte)Math.Round(Stops[3 * i + c] + f * (Stops[3 * (i + 1) + c] - Stops[3 * i + c]));
        return (Channel(0), Channel(1), Channel(2));
    }

    private static void CheckSameSize(int w1, int h1, int w2, int h2)
    {
        if (w1 != w2 || h1 != h2) throw new ArgumentException($"image {w1}×{h1} and labels {w2}×{h2} differ in size");
    }
}
