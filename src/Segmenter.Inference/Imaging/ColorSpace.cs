using System;

namespace Segmenter.Inference.Imaging;

/// <summary>Colour-space conversions shared by the photometric augmentation and the synthetic scenes.</summary>
internal static class ColorSpace
{
    /// <summary>
    /// HSV to RGB, all in [0, 1] except the hue, given in sixths of the circle ([0, 6): 0 red, 2 green, 4 blue),
    /// the unit the conversion works in, so callers keep their own hue unit's rounding.
    /// </summary>
    public static (double R, double G, double B) HsvToRgb(double hueSixths, double saturation, double value)
    {
        double c = value * saturation, x = c * (1 - Math.Abs(hueSixths % 2 - 1)), m = value - c;
        var (r, g, b) = (int)hueSixths switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return (r + m, g + m, b + m);
    }
}
