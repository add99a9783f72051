namespace Segmenter.Runtime.Checkpoints;

/// <summary>The key-naming conventions checkpoints come in.</summary>
public enum KeyConvention
{
    /// <summary>The reference implementation's (and this project's): encoder.*, decoder.*.</summary>
    Reference,
    /// <summary>mmsegmentation's Segmenter port: backbone.*, decode_head.*.</summary>
    Mmsegmentation,
    /// <summary>timm ViT / DeiT classification weights: cls_token, blocks.*, head.* (an encoder initialisation).</summary>
    Timm,
}
