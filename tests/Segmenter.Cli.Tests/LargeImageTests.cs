using System;
using System.IO;
using System.Linq;
using Segmenter.Inference.Imaging;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>predict and attention on an image over --max-pixels: run smaller, drawn at its own size, in the memory of the smaller run.</summary>
public sealed class LargeImageTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-large-image-");

    public void Dispose() => folder.Delete(recursive: true);

    /// <summary>A 5-class model of one small layer, patch 8, trained size 32, and a 150×100 photo.</summary>
    private (string Spec, string Image) WeeModelAndPhoto()
    {
        var spec = Path.Combine(folder.FullName, "wee.seg");
        File.WriteAllText(spec, "backbone Wee { layers = 1 width = 32 heads = 2 }\nmodel WeePredicted { backbone = Wee patch = 8 image = 32 classes = 5 }\n");
        var image = Path.Combine(folder.FullName, "photo.png");
        var picture = new RgbImage(150, 100);
        for (int y = 0; y < 100; y++)
        for (int x = 0; x < 150; x++) picture.Set(x, y, (byte)(x * 3), (byte)(y * 5), (byte)((x * y) % 255));
        ImageFiles.WritePng(image, picture);
        return (spec, image);
    }

    [Theory]
    [InlineData("slide")]
    [InlineData("multiscale")]
    public void An_image_over_max_pixels_runs_with_its_short_side_at_the_window_and_is_labelled_at_its_size(string mode)
    {
        var (spec, image) = WeeModelAndPhoto();
        var output = Path.Combine(folder.FullName, mode);

        var (exit, stdout, error) = CliTests.Run("predict", spec, "--image", image, "--out", output, "--mode", mode, "--max-pixels", "4000", "--logits");
        Assert.True(exit == 0, error);
        Assert.Contains("150×100", stdout);
        Assert.Contains("run at 48×32: over --max-pixels 4,000", stdout);   // the short side at the window of 32, the aspect kept
        var labels = ImageFiles.ReadLabels(Path.Combine(output, "photo.png"));
        Assert.Equal((150, 100), (labels.Width, labels.Height));

        // The labels are the scores' at the size the image ran at (multi-scale writes log-probabilities), upsampled to its size.
        using var written = SafeTensors.Read(Path.Combine(output, "photo.logits.safetensors")).Tensors.Single().Value;
        Assert.Equal(new long[] { 1, 5, 32, 48 }, written.shape);
        using var scores = mode == "multiscale" ? written.exp() : written.alias();
        using var expected = Resize.BilinearArgmax(scores, 100, 150);
        Assert.Equal(ImageTensors.ToLabelMap(expected).Labels, labels.Labels);

        (exit, _, error) = CliTests.Run("predict", spec, "--image", image, "--out", output, "--max-pixels", "0");
        Assert.Equal(1, exit);
        Assert.Contains("--max-pixels 0: give a positive number", error);
    }

    [Fact]
    public void Attention_on_an_image_over_max_pixels_is_taken_smaller_and_drawn_at_its_size()
    {
        var (spec, image) = WeeModelAndPhoto();
        var output = Path.Combine(folder.FullName, "attention");
        var (exit, stdout, error) = CliTests.Run("attention", spec, "--image", image, "--layer", "0", "--out", output, "--max-pixels", "4000");
        Assert.True(exit == 0, error);
        Assert.Contains("150×100, over --max-pixels 4,000: its attention is taken at 48×32", stdout);
        Assert.Contains("the 4×6 patches", stdout);
        var mean = ImageFiles.ReadRgb(Path.Combine(output, "encoder-layer0-mean.png"));
        // Drawn over the 150×100 photo (with its colour scale beside it), not over the 48×32 it ran at.
        Assert.True(mean.Width >= 150 && mean.Height >= 100, $"the heat map is {mean.Width}×{mean.Height}");
    }
}
