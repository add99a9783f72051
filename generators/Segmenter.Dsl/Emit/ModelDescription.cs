using Segmenter.Spec;

namespace Segmenter.Dsl.Emit;

/// <summary>The words every emitter uses to describe a model in its documentation.</summary>
internal static class ModelDescription
{
    /// <summary>"a linear decoder", or "a mask-transformer decoder (2 layers, width 192, 3 heads)".</summary>
    public static string Decoder(SegmenterSpec spec) => spec.Decoder.Kind == DecoderKind.Linear
        ? "a linear decoder"
        : $"a mask-transformer decoder ({spec.Decoder.Layers} layer{(spec.Decoder.Layers == 1 ? "" : "s")}, width {spec.Decoder.Width}, {spec.Decoder.Heads} heads)";

    /// <summary>"150 classes (ADE20K)", or "5 classes".</summary>
    public static string Classes(SegmenterSpec spec) =>
        spec.Dataset is null ? $"{spec.NumClasses} classes" : $"{spec.NumClasses} classes ({DatasetPresets.Find(spec.Dataset)?.DisplayName ?? spec.Dataset})";
}
