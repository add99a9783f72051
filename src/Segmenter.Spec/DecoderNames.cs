namespace Segmenter.Spec;

/// <summary>The decoders' names in the spec language, in one place.</summary>
public static class DecoderNames
{
    /// <summary>The linear decoder: <c>decoder = linear</c>.</summary>
    public const string Linear = "linear";

    /// <summary>The mask transformer: <c>decoder = mask(…)</c>.</summary>
    public const string Mask = "mask";

    /// <summary>Every decoder name.</summary>
    public static System.Collections.Generic.IReadOnlyList<string> All { get; } = new[] { Linear, Mask };

    /// <summary>The name of <paramref name="kind"/>.</summary>
    public static string Of(DecoderKind kind) => kind == DecoderKind.Linear ? Linear : Mask;

    /// <summary>The kind named <paramref name="name"/>, or null for a name that is not a decoder's.</summary>
    public static DecoderKind? Parse(string name) => name switch
    {
        Linear => DecoderKind.Linear,
        Mask => DecoderKind.Mask,
        _ => null,
    };
}
