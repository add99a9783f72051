using System;
using System.Linq;
using Segmenter.Spec;
using Segmenter.Training.Augmentation;
using Segmenter.Inference.Imaging;
using Xunit;

namespace Segmenter.Training.Tests;

/// <summary>The training pipeline: alignment of image and labels, cat_max_ratio, determinism, padding.</summary>
public sealed class AugmentationTests
{
    /// <summary>An image whose red channel is 40 × the label of each pixel, so alignment can be read back from the pixels.</summary>
    private static (RgbImage, LabelMap) Coded(int width, int height, Func<int, int, byte> label)
    {
        var image = new RgbImage(width, height);
        var labels = new LabelMap(width, height, new byte[width * height]);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var value = label(x, y);
                labels.Labels[y * width + x] = value;
                image.Set(x, y, (byte)(40 * value), (byte)x, (byte)y);
            }
        }
        return (image, labels);
    }

    [Fact]
    public void Crops_and_flips_keep_every_pixel_with_its_label()
    {
        var (image, labels) = Coded(120, 64, (x, y) => (byte)((x / 10 + y / 16) % 5));
        var options = new AugmentationOptions(CropSize: 64, MinRatio: 1, MaxRatio: 1, CategoryMaxRatio: 1, Photometric: false);
        for (int seed = 0; seed < 20; seed++)
        {
            var sample = TrainAugmentation.Apply(image, labels, options, NormalizationSpec.Vit, new Random(seed));
            for (int i = 0; i < 64 * 64; i++)
            {
                float red = sample.Image[i] * 0.5f + 0.5f;   // undo the vit normalisation of channel 0
                Assert.Equal(sample.Labels[i], (byte)Math.Round(red * 255 / 40));
            }
        }
    }

    [Fact]
    public void Resizing_keeps_labels_aligned_with_the_image_away_from_region_borders()
    {
        var (image, labels) = Coded(96, 80, (x, y) => (byte)(x < 48 ? (y < 40 ? 1 : 2) : 3));
        var options = new AugmentationOptions(CropSize: 128, CategoryMaxRatio: 1, FlipProbability: 0, Photometric: false);
        for (int seed = 0; seed < 10; seed++)
        {
            var sample = TrainAugmentation.Apply(image, labels, options, NormalizationSpec.Vit, new Random(seed));
            int checkedPixels = 0;
            for (int y = 1; y < 127; y++)
            {
                for (int x = 1; x < 127; x++)
                {
                    int i = y * 128 + x;
                    var label = sample.Labels[i];
                    bool interior = label != 255 && new[] { i - 1, i + 1, i - 128, i + 128 }.All(j => sample.Labels[j] == label);
                    if (!interior) continue;
                    float red = sample.Image[i] * 0.5f + 0.5f;
                    Assert.InRange(red * 255 / 40, label - 0.5, label + 0.5);
                    checkedPixels++;
                }
            }
            Assert.True(checkedPixels > 1000);
        }
    }

    [Fact]
    public void Crops_avoid_windows_dominated_by_one_class_when_others_exist()
    {
        // The left 80 % is class 0; the right part mixes classes 1 and 2. Most windows are dominated.
        var (image, labels) = Coded(200, 40, (x, y) => (byte)(x < 160 ? 0 : 1 + (y / 5) % 2));
        Assert.True(TrainAugmentation.Dominated(labels, 0, 0, 40, 40, 0.75));
        Assert.False(TrainAugmentation.Dominated(labels, 160, 0, 40, 40, 0.75));
        int balanced = 0;
        for (int seed = 0; seed < 50; seed++)
        {
            var (_, cropped) = TrainAugmentation.RandomCrop(image, labels, 40, 0.75, new Random(seed));
            if (!TrainAugmentation.Dominated(cropped, 0, 0, 40, 40, 0.75)) balanced++;
        }
        // A random window is balanced with probability ≈ 31/161; ten tries make it likely: 1 − (130/161)^10 ≈ 0.88.
        Assert.InRange(balanced, 35, 50);
        int unconstrained = Enumerable.Range(0, 50).Count(seed =>
            !TrainAugmentation.Dominated(TrainAugmentation.RandomCrop(image, labels, 40, 1.0, new Random(seed)).Item2, 0, 0, 40, 40, 0.75));
        Assert.InRange(unconstrained, 0, 25);
    }

    [Fact]
    public void The_same_seed_gives_the_same_sample_and_another_seed_another()
    {
        var (image, labels) = Coded(150, 110, (x, y) => (byte)((x * y / 300) % 4));
        var options = new AugmentationOptions(CropSize: 96);
        var a = TrainAugmentation.Apply(image, labels, options, NormalizationSpec.ImageNet, new Random(42));
        var b = TrainAugmentation.Apply(image, labels, options, NormalizationSpec.ImageNet, new Random(42));
        var c = TrainAugmentation.Apply(image, labels, options, NormalizationSpec.ImageNet, new Random(43));
        Assert.Equal(a.Image, b.Image);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Image, c.Image);
    }

    [Fact]
    public void Small_crops_are_padded_with_zero_and_ignore()
    {
        var (image, labels) = Coded(30, 20, (_, _) => 1);
        var sample = TrainAugmentation.NormalizeAndPad(image, labels, 32, NormalizationSpec.Vit);
        Assert.Equal(255, sample.Labels[31]);
        Assert.Equal(255, sample.Labels[20 * 32]);
        Assert.Equal(1, sample.Labels[19 * 32 + 29]);
        Assert.Equal(0f, sample.Image[31]);
        Assert.Equal(0f, sample.Image[2 * 32 * 32 + 25 * 32]);
    }

    [Fact]
    public void Photometric_distortion_changes_colours_only_within_range()
    {
        var (image, _) = Coded(50, 40, (x, y) => (byte)((x + y) % 6));
        var changed = 0;
        for (int seed = 0; seed < 10; seed++)
        {
            var distorted = PhotometricDistortion.Apply(image, new Random(seed));
            Assert.Equal((image.Width, image.Height), (distorted.Width, distorted.Height));
            if (!distorted.Pixels.SequenceEqual(image.Pixels)) changed++;
        }
        Assert.True(changed >= 8);
    }
}
