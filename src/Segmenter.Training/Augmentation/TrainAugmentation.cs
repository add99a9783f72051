using System;
using System.Linq;
using Segmenter.Spec;
using Segmenter.Inference.Imaging;

namespace Segmenter.Training.Augmentation;

/// <summary>
/// The authors' training pipeline (mmsegmentation's): resize to the scale (4S, S) keeping the aspect ratio with a random ratio in [0.5, 2];
/// a random S×S crop in which no class covers 75 % or more (up to 10 tries); horizontal flip with p = 0.5;
/// photometric distortion; normalisation; padding to S×S (image 0, label 255). Images are resized
/// bilinearly, labels by nearest neighbour, and every random choice comes from the given generator,
/// so a seed fixes the result.
/// </summary>
public static class TrainAugmentation
{
    /// <summary>Augments one sample.</summary>
    public static TrainingSample Apply(RgbImage image, LabelMap labels, AugmentationOptions options, NormalizationSpec normalization, Random random)
    {
        int s = options.CropSize;
        (image, labels) = RandomResize(image, labels, s, options.MinRatio, options.MaxRatio, random);
        (image, labels) = RandomCrop(image, labels, s, options.CategoryMaxRatio, random);
        if (random.NextDouble() < options.FlipProbability)
        {
            image = ImageOps.FlipHorizontal(image);
            labels = ImageOps.FlipHorizontal(labels);
        }
        if (options.Photometric) image = PhotometricDistortion.Apply(image, random);
        return NormalizeAndPad(image, labels, s, normalization);
    }

    /// <summary>The keep-ratio resize to scale (4S·r, S·r) for a random ratio r.</summary>
    public static (RgbImage, LabelMap) RandomResize(RgbImage image, LabelMap labels, int s, double minRatio, double maxRatio, Random random)
    {
        double ratio = minRatio + (maxRatio - minRatio) * random.NextDouble();
        double longSide = 4 * s * ratio, shortSide = s * ratio;
        double factor = Math.Min(longSide / Math.Max(image.Width, image.Height), shortSide / Math.Min(image.Width, image.Height));
        int width = Math.Max(1, (int)(image.Width * factor + 0.5)), height = Math.Max(1, (int)(image.Height * factor + 0.5));
        return (ImageOps.Resize(image, width, height), ImageOps.ResizeNearest(labels, width, height));
    }

    /// <summary>A random crop of at most S×S, retried while one class dominates it (cat_max_ratio).</summary>
    public static (RgbImage, LabelMap) RandomCrop(RgbImage image, LabelMap labels, int s, double categoryMaxRatio, Random random)
    {
        int width = Math.Min(s, image.Width), height = Math.Min(s, image.Height);
        int x = 0, y = 0;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            x = random.Next(0, image.Width - width + 1);
            y = random.Next(0, image.Height - height + 1);
            if (categoryMaxRatio >= 1 || !Dominated(labels, x, y, width, height, categoryMaxRatio)) break;
        }
        return (ImageOps.Crop(image, x, y, width, height), ImageOps.Crop(labels, x, y, width, height));
    }

    /// <summary>True unless the window holds more than one class and the largest covers less than the ratio of its labelled pixels.</summary>
    public static bool Dominated(LabelMap labels, int x, int y, int width, int height, double ratio)
    {
        var counts = new long[256];
        for (int row = y; row < y + height; row++)
        {
            for (int column = x; column < x + width; column++) counts[labels.Labels[row * labels.Width + column]]++;
        }
        counts[LabelMap.Ignore] = 0;
        long total = counts.Sum();
        int present = counts.Count(c => c > 0);
        return !(present > 1 && (double)counts.Max() / total < ratio);
    }

    /// <summary>(x / 255 − mean) / std in CHW order, padded with zeros (labels with 255) to S×S.</summary>
    public static TrainingSample NormalizeAndPad(RgbImage image, LabelMap labels, int s, NormalizationSpec normalization)
    {
        var pixels = new float[3 * s * s];
        var values = Enumerable.Repeat(LabelMap.Ignore, s * s).ToArray();
        for (int c = 0; c < 3; c++)
        {
            float mean = (float)normalization.Mean[c], std = (float)normalization.Std[c];
            for (int y = 0; y < image.Height; y++)
            {
                for (int x = 0; x < image.Width; x++)
                    pixels[(c * s + y) * s + x] = (image.Pixels[(y * image.Width + x) * 3 + c] / 255f - mean) / std;
            }
        }
        for (int y = 0; y < labels.Height; y++)
            Buffer.BlockCopy(labels.Labels, y * labels.Width, values, y * s, labels.Width);
        return new TrainingSample(pixels, values);
    }
}
