namespace Segmenter.Spec;

/// <summary>A ViT encoder's shape.</summary>
/// <param name="Name">The backbone declaration's name (e.g. Tiny).</param>
/// <param name="Layers">The number of transformer blocks L.</param>
/// <param name="Width">The token width D.</param>
/// <param name="Heads">The attention heads h (D divisible by h).</param>
/// <param name="MlpWidth">The MLP's hidden width (MLP ratio × D).</param>
/// <param name="Distilled">True for DeiT-distilled backbones (an extra distillation token).</param>
public sealed record BackboneSpec(string Name, int Layers, int Width, int Heads, int MlpWidth, bool Distilled)
{
    /// <summary>D / h.</summary>
    public int HeadWidth => Width / Heads;
}
