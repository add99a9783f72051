using System;

namespace Segmenter.Spec;

/// <summary>
/// Sizes derived from a spec by formula, without building the model: parameter counts (checked in
/// the tests against the reference's state dicts) and FLOPs. Elementwise work (LayerNorm, softmax,
/// GELU, interpolation) is not counted: it is a few per cent of the total.
/// </summary>
public static class SpecMetrics
{
    /// <summary>Parameters of the encoder and decoder.</summary>
    public static ParameterCounts Parameters(SegmenterSpec spec)
    {
        var b = spec.Backbone;
        long d = b.Width;
        long encoder = d * spec.ExtraTokens                                          // cls (and dist) token
                     + (spec.ExtraTokens + (long)spec.GridHeight * spec.GridWidth) * d  // pos_embed
                     + 3L * spec.PatchSize * spec.PatchSize * d + d                  // patch_embed.proj
                     + b.Layers * BlockParameters(d, b.MlpWidth)
                     + 2 * d;                                                        // norm
        long k = spec.NumClasses;
        long decoder;
        if (spec.Decoder.Kind == DecoderKind.Linear)
        {
            decoder = d * k + k;
        }
        else
        {
            long w = spec.Decoder.Width;
            decoder = k * w                                                          // cls_emb
                    + 2 * w * w                                                      // proj_patch, proj_classes
                    + spec.Decoder.Layers * BlockParameters(w, spec.Decoder.MlpWidth)
                    + d * w + w                                                      // proj_dec
                    + 2 * w                                                          // decoder_norm
                    + 2 * k;                                                         // mask_norm
        }
        return new ParameterCounts(encoder, decoder);
    }

    /// <summary>The parameters the reference also holds but never uses: the 1000-class ImageNet heads (head, and head_dist if distilled).</summary>
    public static long UnusedReferenceHeadParameters(SegmenterSpec spec) =>
        (spec.Backbone.Distilled ? 2 : 1) * (1000L * spec.Backbone.Width + 1000);

    /// <summary>FLOPs of one forward pass for one image of <paramref name="height"/> × <paramref name="width"/> (padded to the patch).</summary>
    public static FlopCounts Flops(SegmenterSpec spec, int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), "image sides must be positive");
        var b = spec.Backbone;
        double p = spec.PatchSize;
        double n = Math.Ceiling(height / p) * Math.Ceiling(width / p);
        double tokens = n + spec.ExtraTokens;
        double d = b.Width;

        double patch = 2 * n * 3 * p * p * d;
        double attention = b.Layers * AttentionFlops(tokens, d);
        double mlp = b.Layers * 2 * 2 * tokens * d * b.MlpWidth;

        double k = spec.NumClasses;
        double decoder;
        if (spec.Decoder.Kind == DecoderKind.Linear)
        {
            decoder = 2 * n * d * k;
        }
        else
        {
            double w = spec.Decoder.Width;
            double decoderTokens = n + k;
            decoder = 2 * n * d * w
                    + spec.Decoder.Layers * (AttentionFlops(decoderTokens, w) + 2 * 2 * decoderTokens * w * spec.Decoder.MlpWidth)
                    + 2 * (n + k) * w * w
                    + 2 * n * k * w;
        }
        return new FlopCounts(patch, attention, mlp, decoder);
    }

    private static long BlockParameters(long width, long mlpWidth) =>
        4 * width                           // norm1, norm2
        + 3 * width * width + 3 * width     // attn.qkv
        + width * width + width             // attn.proj
        + width * mlpWidth + mlpWidth       // mlp.fc1
        + mlpWidth * width + width;         // mlp.fc2

    private static double AttentionFlops(double tokens, double width) =>
        2 * tokens * width * 3 * width      // qkv
        + 2 * 2 * tokens * tokens * width   // q·kᵀ and attention·v over all heads
        + 2 * tokens * width * width;       // proj
}
