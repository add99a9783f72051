using System;
using System.Globalization;
using Segmenter.Export;
using Segmenter.Inference;

namespace Segmenter.Cli.Commands;

/// <summary>Image sizes on the command line: <c>HxW</c> (or one number for a square) and batch shapes <c>BxHxW</c>.</summary>
internal static class Sizes
{
    /// <summary>Parses <c>HxW</c> or <c>S</c>; an error naming <paramref name="option"/> otherwise.</summary>
    public static (int Height, int Width) Parse(string text, string option)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2 && Positive(parts[0]) is { } height && Positive(parts[^1]) is { } width)
            return (height, width);
        throw new ArgumentException($"{option} '{text}': give a size HxW, e.g. 512x512, with sides from 1 to {InferenceOptions.MaximumTestSize}");
    }

    /// <summary>Parses <c>BxHxW</c>.</summary>
    public static TensorShape ParseBatch(string text, string option)
    {
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length == 3 && Positive(parts[0]) is { } batch && Positive(parts[1]) is { } height && Positive(parts[2]) is { } width)
            return new TensorShape(batch, height, width);
        throw new ArgumentException($"{option}: '{text}' is not a shape BxHxW, e.g. 4x512x512");
    }

    private static int? Positive(string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= InferenceOptions.MaximumTestSize ? value : null;
}
