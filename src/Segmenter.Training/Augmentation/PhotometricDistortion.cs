using System;
using Segmenter.Inference.Imaging;

namespace Segmenter.Training.Augmentation;

/// <summary>
/// mmsegmentation's PhotoMetricDistortion: brightness (±32, p = ½); contrast (×0.5–1.5, p = ½) either
/// before or after the colour changes; saturation (×0.5–1.5, p = ½) and hue (±18 on OpenCV's 0–180
/// scale, p = ½) in HSV. Values are clipped to 0–255.
/// </summary>
public static class PhotometricDistortion
{
    /// <summary>A distorted copy of <paramref name="image"/>.</summary>
    public static RgbImage Apply(RgbImage image, Random random)
    {
        var pixels = new float[image.Pixels.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = image.Pixels[i];

        if (random.Next(2) == 1) AddScale(pixels, 1, random.NextDouble() * 64 - 32);
        bool contrastFirst = random.Next(2) == 1;
        if (contrastFirst && random.Next(2) == 1) AddScale(pixels, 0.5 + random.NextDouble(), 0);

        bool saturate = random.Next(2) == 1;
        double saturation = saturate ? 0.5 + random.NextDouble() : 1;
        bool shiftHue = random.Next(2) == 1;
        int hue = shiftHue ? random.Next(-18, 19) : 0;
        if (saturate || shiftHue) AdjustHsv(pixels, saturation, hue);

        if (!contrastFirst && random.Next(2) == 1) AddScale(pixels, 0.5 + random.NextDouble(), 0);

        var result = new byte[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) result[i] = (byte)Math.Clamp(Math.Round(pixels[i]), 0, 255);
        return new RgbImage(image.Width, image.Height, result);
    }

    private static void AddScale(float[] pixels, double alpha, double beta)
    {
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)Math.Clamp(pixels[i] * alpha + beta, 0, 255);
    }

    private static void AdjustHsv(float[] pixels, double saturation, int hueShift)
    {
        for (int i = 0; i < pixels.Length; i += 3)
        {
            double r = pixels[i] / 255, g = pixels[i + 1] / 255, b = pixels[i + 2] / 255;
            double max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b)), delta = max - min;
            double h = delta == 0 ? 0 : max == r ? 60 * (((g - b) / delta) % 6) : max == g ? 60 * ((b - r) / delta + 2) : 60 * ((r - g) / delta + 4);
            if (h < 0) h += 360;
            double s = max == 0 ? 0 : delta / max, v = max;

            s = Math.Clamp(s * saturation, 0, 1);
            h = ((h / 2 + hueShift) % 180 + 180) % 180 * 2;   // OpenCV's 8-bit hue is degrees / 2

            var (rr, gg, bb) = ColorSpace.HsvToRgb(h / 60, s, v);
            pixels[i] = (float)(rr * 255);
            pixels[i + 1] = (float)(gg * 255);
            pixels[i + 2] = (float)(bb * 255);
        }
    }
}
