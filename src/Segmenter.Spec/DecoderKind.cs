namespace Segmenter.Spec;

/// <summary>The decoder kinds of the paper.</summary>
public enum DecoderKind
{
    /// <summary>A linear layer on each patch token.</summary>
    Linear,
    /// <summary>The mask transformer: learned class embeddings decoded jointly with the patches.</summary>
    Mask,
}
