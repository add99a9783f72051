using System;

namespace Segmenter.Inference.Imaging;

/// <summary>A label map: one byte per pixel, the class index (255 = ignore).</summary>
public sealed class LabelMap
{
    /// <summary>The value meaning "no label" (ignored by the loss and the metrics).</summary>
    public const byte Ignore = 255;

    /// <summary>The most classes a label map (and a label PNG) can hold: 0 to 255, one byte each.</summary>
    public const int MaximumClasses = 256;

    /// <summary>Wraps label data; its length must be width × height.</summary>
    public LabelMap(int width, int height, byte[] labels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"a label map needs a positive size, got {width}×{height}");
        if (labels.Length != width * height) throw new ArgumentException($"{width}×{height} labels need {width * height} bytes, got {labels.Length}");
        Width = width;
        Height = height;
        Labels = labels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The labels, row by row.</summary>
    public byte[] Labels { get; }
}
