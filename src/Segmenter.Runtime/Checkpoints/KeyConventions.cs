using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>Recognises a checkpoint's naming convention and maps its keys (and, where the layouts differ, its tensors) to the reference's.</summary>
public static class KeyConventions
{
    private static readonly (Regex Pattern, string Replacement)[] MmsegRules =
    {
        (new(@"^backbone\.patch_embed\.projection\."), "encoder.patch_embed.proj."),
        (new(@"^backbone\.(cls_token|pos_embed|dist_token)$"), "encoder.$1"),
        (new(@"^backbone\.ln1\."), "encoder.norm."),
        (new(@"^backbone\.layers\.(\d+)\."), "encoder.blocks.$1."),
        (new(@"^decode_head\.layers\.(\d+)\."), "decoder.blocks.$1."),
        (new(@"^decode_head\.dec_proj\."), "decoder.proj_dec."),
        (new(@"^decode_head\.cls_emb$"), "decoder.cls_emb"),
        (new(@"^decode_head\.patch_proj\.weight$"), "decoder.proj_patch"),
        (new(@"^decode_head\.classes_proj\.weight$"), "decoder.proj_classes"),
        (new(@"^decode_head\.decoder_norm\."), "decoder.decoder_norm."),
        (new(@"^decode_head\.mask_norm\."), "decoder.mask_norm."),
        (new(@"^decode_head\.conv_seg\."), "decoder.head."),
    };

    private static readonly (Regex Pattern, string Replacement)[] MmsegBlockRules =
    {
        (new(@"\.ln1\."), ".norm1."),
        (new(@"\.ln2\."), ".norm2."),
        (new(@"\.attn\.attn\.in_proj_(weight|bias)$"), ".attn.qkv.$1"),
        (new(@"\.attn\.attn\.out_proj\."), ".attn.proj."),
        (new(@"\.ffn\.layers\.0\.0\."), ".mlp.fc1."),
        (new(@"\.ffn\.layers\.1\."), ".mlp.fc2."),
    };

    /// <summary>The convention of <paramref name="keys"/>, judged by their prefixes.</summary>
    public static KeyConvention Detect(IEnumerable<string> keys)
    {
        var list = keys.ToList();
        if (list.Any(k => k.StartsWith("backbone.", StringComparison.Ordinal) || k.StartsWith("decode_head.", StringComparison.Ordinal)))
            return KeyConvention.Mmsegmentation;
        if (list.Any(k => k.StartsWith("encoder.", StringComparison.Ordinal) || k.StartsWith("decoder.", StringComparison.Ordinal)))
            return KeyConvention.Reference;
        if (list.Any(k => k.StartsWith("blocks.", StringComparison.Ordinal) || k.StartsWith("patch_embed.", StringComparison.Ordinal) || k == "cls_token"))
            return KeyConvention.Timm;
        return KeyConvention.Reference;
    }

    /// <summary>
    /// <paramref name="tensors"/> renamed (and, for mmsegmentation, reshaped) to the reference's keys.
    /// Keys with no counterpart keep their name, so the loader reports them as unexpected.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> ToReference(IEnumerable<KeyValuePair<string, Tensor>> tensors, KeyConvention convention) =>
        convention switch
        {
            KeyConvention.Mmsegmentation => tensors.Select(FromMmseg).ToList(),
            KeyConvention.Timm => tensors.Select(t => new KeyValuePair<string, Tensor>("encoder." + t.Key, t.Value)).ToList(),
            _ => tensors.ToList(),
        };

    private static KeyValuePair<string, Tensor> FromMmseg(KeyValuePair<string, Tensor> pair)
    {
        var key = pair.Key;
        foreach (var (pattern, replacement) in MmsegRules)
        {
            if (!pattern.IsMatch(key)) continue;
            key = pattern.Replace(key, replacement);
            if (key.StartsWith("encoder.blocks.", StringComparison.Ordinal) || key.StartsWith("decoder.blocks.", StringComparison.Ordinal))
            {
                foreach (var (blockPattern, blockReplacement) in MmsegBlockRules)
                    key = blockPattern.Replace(key, blockReplacement);
            }
            break;
        }

        var value = pair.Value;
        // mmsegmentation holds patch_proj / classes_proj as bias-free Linear layers: weight = reference matrixᵀ.
        if (key is "decoder.proj_patch" or "decoder.proj_classes") value = value.t();
        // Its linear decoder is a 1×1 convolution: [K, D, 1, 1] → [K, D].
        if (key == "decoder.head.weight" && value.dim() == 4) value = value.flatten(1);
        return new KeyValuePair<string, Tensor>(key, value);
    }
}
