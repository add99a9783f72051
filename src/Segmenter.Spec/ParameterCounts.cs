namespace Segmenter.Spec;

/// <summary>Parameter counts of a model, by part.</summary>
/// <param name="Encoder">Encoder parameters (without the reference's unused classifier heads).</param>
/// <param name="Decoder">Decoder parameters.</param>
public readonly record struct ParameterCounts(long Encoder, long Decoder)
{
    /// <summary>Encoder + decoder.</summary>
    public long Total => Encoder + Decoder;
}
