namespace Segmenter.Spec;

/// <summary>The decoder. For <see cref="DecoderKind.Linear"/> only <see cref="Kind"/> matters (the other fields are 0).</summary>
/// <param name="Kind">Linear or mask transformer.</param>
/// <param name="Layers">Mask transformer blocks M.</param>
/// <param name="Width">Mask transformer token width (the encoder's width unless set).</param>
/// <param name="Heads">Mask transformer heads (width ÷ 64 rounded down unless set).</param>
/// <param name="MlpWidth">Mask transformer MLP width (4 × width).</param>
/// <param name="Dropout">Dropout in the mask transformer's blocks.</param>
/// <param name="DropPathRate">Stochastic-depth rate reached at the mask transformer's last block.</param>
public sealed record DecoderSpec(DecoderKind Kind, int Layers, int Width, int Heads, int MlpWidth, double Dropout, double DropPathRate)
{
    /// <summary>The linear decoder.</summary>
    public static DecoderSpec Linear { get; } = new(DecoderKind.Linear, 0, 0, 0, 0, 0, 0);
}
