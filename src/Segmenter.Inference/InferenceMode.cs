namespace Segmenter.Inference;

/// <summary>How to run a model over an image.</summary>
public enum InferenceMode
{
    /// <summary>The whole image at once (the model pads it to the patch size).</summary>
    Whole,
    /// <summary>Sliding windows, logits averaged where they overlap (the paper's single-scale evaluation).</summary>
    Slide,
    /// <summary>Sliding windows at scales 0.5–1.75, each also flipped, softmax maps averaged.</summary>
    MultiScale,
}
