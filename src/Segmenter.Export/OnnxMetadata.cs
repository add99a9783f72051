namespace Segmenter.Export;

/// <summary>What an exported file says about itself (its metadata), so a deployment needs nothing else.</summary>
public static class OnnxMetadata
{
    /// <summary>Metadata keys.</summary>
    public const string Model = "segmenter.model", Spec = "segmenter.spec", Classes = "segmenter.classes", Mean = "segmenter.normalization.mean",
        Std = "segmenter.normalization.std", Palette = "segmenter.palette", Flavour = "segmenter.flavour", Float16 = "segmenter.float16",
        PatchSize = "segmenter.patch_size", Int8 = "segmenter.int8";
}
