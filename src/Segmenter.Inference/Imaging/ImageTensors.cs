using System;
using Segmenter.Spec;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Inference.Imaging;

/// <summary>Conversions between images and the tensors models take.</summary>
public static class ImageTensors
{
    /// <summary>The image as a normalised float32 tensor [1, 3, H, W]: scaled to [0, 1], then (x − mean) / std.</summary>
    public static Tensor ToTensor(RgbImage image, NormalizationSpec normalization)
    {
        using var scope = NewDisposeScope();
        var hwc = tensor(image.Pixels, new long[] { image.Height, image.Width, 3 }, ScalarType.Byte);
        var chw = hwc.permute(2, 0, 1).to(float32).div_(Scalars.Of(255.0)).unsqueeze(0);
        return Normalize(chw, normalization).MoveToOuterDisposeScope();
    }

    /// <summary>(x − mean) / std per channel for images [B, 3, H, W] in [0, 1].</summary>
    public static Tensor Normalize(Tensor images, NormalizationSpec normalization)
    {
        using var mean = tensor(new[] { (float)normalization.Mean[0], (float)normalization.Mean[1], (float)normalization.Mean[2] }).reshape(1, 3, 1, 1);
        using var std = tensor(new[] { (float)normalization.Std[0], (float)normalization.Std[1], (float)normalization.Std[2] }).reshape(1, 3, 1, 1);
        using var meanOnDevice = mean.to(images.device);
        using var stdOnDevice = std.to(images.device);
        return images.sub(meanOnDevice).div_(stdOnDevice);
    }

    /// <summary>A label map [H, W] (uint8) from a tensor of class indices 0 to 255 (a larger index is refused, never wrapped).</summary>
    public static LabelMap ToLabelMap(Tensor labels)
    {
        if (labels.dim() != 2) throw new ArgumentException($"expected labels [H, W], got [{string.Join(", ", labels.shape)}]");
        if (labels.numel() > 0 && labels.dtype != ScalarType.Byte)
        {
            using var largest = labels.max();
            using var asLong = largest.to(ScalarType.Int64);
            if (asLong.item<long>() is var top and >= LabelMap.MaximumClasses)
                throw new ArgumentException($"class {top} does not fit a label map, which holds classes 0 to {LabelMap.MaximumClasses - 1}");
        }
        using var bytes = labels.to(ScalarType.Byte).cpu().contiguous();
        return new LabelMap((int)labels.shape[1], (int)labels.shape[0], bytes.data<byte>().ToArray());
    }
}
