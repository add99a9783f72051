using System;

namespace Segmenter.Export;

/// <summary>The optional second output of an exported model: the argmax over classes, [batch, height, width].</summary>
public static class LabelsOutput
{
    /// <summary>The output's name.</summary>
    public const string Name = "labels";

    /// <summary>Whether the output of a model with <paramref name="classes"/> classes is uint8 (up to 256 classes) rather than int64.</summary>
    public static bool IsByte(int classes) => classes <= 256;

    /// <summary>
    /// Writes class indices held as floats (exact below 2²⁴, as the vectorised argmax kernels keep them) into a labels
    /// tensor's memory at element <paramref name="offset"/>: uint8 when <paramref name="bytes"/>, else int64.
    /// </summary>
    public static unsafe void Write(IntPtr labels, bool bytes, long offset, ReadOnlySpan<float> classes)
    {
        if (bytes)
        {
            var target = new Span<byte>((byte*)labels + offset, classes.Length);
            for (int i = 0; i < classes.Length; i++) target[i] = (byte)classes[i];
        }
        else
        {
            var target = new Span<long>((long*)labels + offset, classes.Length);
            for (int i = 0; i < classes.Length; i++) target[i] = (long)classes[i];
        }
    }
}
