using System;
using System.Globalization;
using Segmenter.Export;
using Segmenter.Inference;

namespace Segmenter.Cli.Commands;

/// <summary>Number formats for tables, and the sizes and shapes options take.</summary>
internal static class Format
{
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Giga(double value) => (value / 1e9).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>Parses "512", "512x640" or "512×640" (height × width), sides 1 to 8192; an error naming <paramref name="option"/> otherwise.</summary>
    public static (int Height, int Width) ParseSize(string text, string option = "size")
    {
        var parts = text.Split('x', 'X', '×');
        if (parts.Length is 1 or 2 && Side(parts[0]) is { } height && Side(parts[^1]) is { } width)
            return (height, width);
        throw new ArgumentException($"{option} '{text}' is not a size: use HxW such as 512x512 or 480x640, or one number for a square (sides 1 to {InferenceOptions.MaximumTestSize})");
    }

    /// <summary>Parses a batch shape "BxHxW" (e.g. 4x512x512).</summary>
    public static TensorShape ParseBatchShape(string text, string option)
    {
        var parts = text.Trim().Split('x', 'X', '×');
        if (parts.Length == 3 && Side(parts[0]) is { } batch && Side(parts[1]) is { } height && Side(parts[2]) is { } width)
            return new TensorShape(batch, height, width);
        throw new ArgumentException($"{option}: '{text}' is not a shape BxHxW, e.g. 4x512x512");
    }

    private static int? Side(string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= InferenceOptions.MaximumTestSize ? value : null;
}
