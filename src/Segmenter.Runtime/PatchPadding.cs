using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>Padding images to a multiple of the patch size and cropping outputs back, as the reference's <c>padding</c>/<c>unpadding</c>.</summary>
public static class PatchPadding
{
    /// <summary><paramref name="images"/> [B, C, H, W] padded with zeros on the right and bottom to multiples of <paramref name="multiple"/>; the input itself if already a multiple.</summary>
    public static Tensor ToMultiple(Tensor images, long multiple)
    {
        long height = images.shape[2], width = images.shape[3];
        long padHeight = (multiple - height % multiple) % multiple;
        long padWidth = (multiple - width % multiple) % multiple;
        if (padHeight == 0 && padWidth == 0) return images;
        return nn.functional.pad(images, new long[] { 0, padWidth, 0, padHeight }, PaddingModes.Constant, 0);
    }

    /// <summary>The top-left <paramref name="height"/> × <paramref name="width"/> of <paramref name="maps"/> [B, K, H', W'] (a view); the input itself if it already has that size.</summary>
    public static Tensor Crop(Tensor maps, long height, long width)
    {
        if (maps.shape[2] == height && maps.shape[3] == width) return maps;
        return maps.narrow(2, 0, height).narrow(3, 0, width);
    }
}
