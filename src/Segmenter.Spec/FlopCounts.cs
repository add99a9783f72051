namespace Segmenter.Spec;

/// <summary>Floating-point operations of one forward pass for one image, by part (2 per multiply-add of the matrix products).</summary>
/// <param name="PatchEmbedding">The patch-embedding convolution.</param>
/// <param name="Attention">Encoder attention: qkv, scores, weighted sum, output projection.</param>
/// <param name="Mlp">Encoder MLPs.</param>
/// <param name="Decoder">The decoder (for the mask transformer: its projections, blocks and mask products).</param>
public readonly record struct FlopCounts(double PatchEmbedding, double Attention, double Mlp, double Decoder)
{
    /// <summary>All parts.</summary>
    public double Total => PatchEmbedding + Attention + Mlp + Decoder;
}
