namespace Segmenter.Spec;

/// <summary>Input normalisation: images scaled to [0, 1], then (x − mean) / std per channel (RGB).</summary>
/// <param name="Name">vit, imagenet or custom.</param>
/// <param name="Mean">Three channel means.</param>
/// <param name="Std">Three channel standard deviations.</param>
public sealed record NormalizationSpec(string Name, EquatableArray<double> Mean, EquatableArray<double> Std)
{
    /// <summary>ViT (timm, augreg): mean = std = 0.5.</summary>
    public static NormalizationSpec Vit { get; } = new("vit", EquatableArray.Create(0.5, 0.5, 0.5), EquatableArray.Create(0.5, 0.5, 0.5));

    /// <summary>ImageNet statistics, used with DeiT backbones.</summary>
    public static NormalizationSpec ImageNet { get; } = new("imagenet", EquatableArray.Create(0.485, 0.456, 0.406), EquatableArray.Create(0.229, 0.224, 0.225));
}
