using System;
using System.Collections.Generic;
using Segmenter.Inference.Imaging;

namespace Segmenter.Training.Data;

/// <summary>
/// Synthetic scenes with exact labels: a textured background (class 0) and a few shapes, each class
/// with its own shape family, colour and texture (stripes, checks, dots, rings…), sizes varying from
/// scene to scene. Nothing is downloaded; the same seed and index always give the same scene.
/// </summary>
public static class SyntheticScenes
{
    private static readonly string[] ShapeNames = { "disc", "box", "triangle", "ring", "cross", "diamond" };

    /// <summary>Names for <paramref name="classes"/> classes: background, then shape families.</summary>
    public static IReadOnlyList<string> ClassNames(int classes)
    {
        var names = new List<string> { "background" };
        for (int c = 1; c < classes; c++)
        {
            var shape = ShapeNames[(c - 1) % ShapeNames.Length];
            names.Add(c <= ShapeNames.Length ? shape : $"{shape} {1 + (c - 1) / ShapeNames.Length}");
        }
        return names;
    }

    /// <summary>Scene <paramref name="index"/>.</summary>
    public static (RgbImage Image, LabelMap Labels) Generate(int index, SceneOptions options)
    {
        if (options.Classes < 2 || options.Classes > 255) throw new ArgumentException($"synthetic scenes need 2 to 255 classes, got {options.Classes}");
        if (options.MinSize < 16 || options.MaxSize < options.MinSize) throw new ArgumentException($"image sizes {options.MinSize}–{options.MaxSize} are not a valid range (at least 16)");
        var random = new Random(Seeds.Mix(options.Seed, index, 0x5E6));
        int width = random.Next(options.MinSize, options.MaxSize + 1);
        int height = random.Next(options.MinSize, options.MaxSize + 1);
        var image = new RgbImage(width, height);
        var labels = new LabelMap(width, height, new byte[width * height]);

        double gradientAngle = random.NextDouble() * Math.PI;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                double t = (Math.Cos(gradientAngle) * x + Math.Sin(gradientAngle) * y) / Math.Max(width, height);
                var (r, g, b) = Texture(0, options.Classes, x, y, random.NextDouble());
                image.Set(x, y, Clamp(r * (0.8 + 0.3 * t)), Clamp(g * (0.8 + 0.3 * t)), Clamp(b * (0.8 + 0.3 * t)));
            }
        }

        int shapes = random.Next(2, 6);
        for (int s = 0; s < shapes; s++)
        {
            int cls = random.Next(1, options.Classes);
            double radius = Math.Min(width, height) * (0.12 + 0.2 * random.NextDouble());
            double cx = random.NextDouble() * width, cy = random.NextDouble() * height;
            double rotation = random.NextDouble() * Math.PI;
            int family = (cls - 1) % ShapeNames.Length;
            int x0 = Math.Max(0, (int)(cx - radius - 2)), x1 = Math.Min(width - 1, (int)(cx + radius + 2));
            int y0 = Math.Max(0, (int)(cy - radius - 2)), y1 = Math.Min(height - 1, (int)(cy + radius + 2));
            for (int y = y0; y <= y1; y++)
            {
                for (int x = x0; x <= x1; x++)
                {
                    double dx = x - cx, dy = y - cy;
                    double u = Math.Cos(rotation) * dx + Math.Sin(rotation) * dy;
                    double v = -Math.Sin(rotation) * dx + Math.Cos(rotation) * dy;
                    if (!Inside(family, u / radius, v / radius)) continue;
                    var (r, g, b) = Texture(cls, options.Classes, x, y, random.NextDouble());
                    image.Set(x, y, Clamp(r), Clamp(g), Clamp(b));
                    labels.Labels[y * width + x] = (byte)cls;
                }
            }
        }
        return (image, labels);
    }

    private static bool Inside(int family, double u, double v)
    {
        double distance = Math.Sqrt(u * u + v * v);
        return family switch
        {
            0 => distance <= 1,                                                   // disc
            1 => Math.Abs(u) <= 0.85 && Math.Abs(v) <= 0.6,                       // box
            2 => v <= 0.5 && v >= -1 + 1.5 * Math.Abs(u) * 1.15,                  // triangle
            3 => distance <= 1 && distance >= 0.55,                               // ring
            4 => (Math.Abs(u) <= 0.28 && Math.Abs(v) <= 1) || (Math.Abs(v) <= 0.28 && Math.Abs(u) <= 1),   // cross
            _ => Math.Abs(u) + Math.Abs(v) <= 1,                                  // diamond
        };
    }

    /// <summary>A class's colour and texture at a pixel: a hue per class, and a pattern per class (stripes, checks, dots, plain).</summary>
    private static (double R, double G, double B) Texture(int cls, int classes, int x, int y, double noise)
    {
        double hue = cls == 0 ? 0.58 : (cls * 0.61803398875) % 1.0;
        double saturation = cls == 0 ? 0.15 : 0.75;
        double value = cls == 0 ? 0.55 : 0.85;
        double pattern = (cls % 4) switch
        {
            0 => 0.0,
            1 => ((x + y) / 6 % 2 == 0) ? 0.18 : -0.18,                             // diagonal stripes
            2 => ((x / 8 + y / 8) % 2 == 0) ? 0.15 : -0.15,                         // checks
            _ => ((x % 10 - 5) * (x % 10 - 5) + (y % 10 - 5) * (y % 10 - 5) < 9) ? -0.25 : 0.05,   // dots
        };
        var (r, g, b) = ColorSpace.HsvToRgb(hue * 6, saturation, Math.Clamp(value + pattern + (noise - 0.5) * 0.12, 0, 1));
        return (r * 255, g * 255, b * 255);
    }

    private static byte Clamp(double value) => (byte)Math.Clamp(Math.Round(value), 0, 255);
}
