namespace Segmenter.Export;

/// <summary>The optional second output of an exported model: the argmax over classes, [batch, height, width].</summary>
public static class LabelsOutput
{
    /// <summary>The output's name.</summary>
    public const string Name = "labels";

    /// <summary>Whether the output of a model with <paramref name="classes"/> classes is uint8 (up to 256 classes) rather than int64.</summary>
    public static bool IsByte(int classes) => classes <= 256;
}
