namespace Segmenter.Runtime.Checkpoints;

/// <summary>A key whose tensor has another shape than the model's.</summary>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Actual)
{
    /// <inheritdoc />
    public override string ToString() => $"{Key}: the model has [{string.Join(", ", Expected)}], the checkpoint [{string.Join(", ", Actual)}]";
}
