namespace Segmenter.Spec;

/// <summary>Interpolation for position-embedding resizing.</summary>
public enum ResizeMode
{
    /// <summary>Bilinear, align_corners = false (the reference).</summary>
    Bilinear,
    /// <summary>Bicubic, align_corners = false (mmsegmentation, timm).</summary>
    Bicubic,
}
