using System;
using System.Globalization;

namespace Segmenter.Cli.Commands;

/// <summary>Number formats for tables.</summary>
internal static class Format
{
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Giga(double value) => (value / 1e9).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>Parses "512", "512x640" or "512×640" (height × width).</summary>
    public static (int Height, int Width) ParseSize(string text)
    {
        var parts = text.Split('x', 'X', '×');
        if (parts.Length == 1 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var side) && side > 0)
            return (side, side);
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var height)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var width) && height > 0 && width > 0)
            return (height, width);
        throw new ArgumentException($"size '{text}' is not a size: use HxW such as 512x512 or 480x640, or one number for a square");
    }
}
