using System.Linq;
using Segmenter.Inference;
using Segmenter.Inference.Imaging;
using Xunit;

namespace Segmenter.Inference.Tests;

/// <summary>Pictures that read on their own: legends beside overlays, colour scales beside heat maps, and the class an attention picture shows.</summary>
public sealed class AnnotationTests
{
    [Fact]
    public void A_legend_adds_a_band_with_each_class_colour_and_keeps_the_picture()
    {
        var image = new RgbImage(40, 30, Enumerable.Repeat((byte)90, 40 * 30 * 3).ToArray());
        var legend = new[] { ("background", ((byte)0, (byte)0, (byte)0)), ("a rather long class name", ((byte)200, (byte)30, (byte)40)) };
        var annotated = Annotations.WithLegend(image, legend);
        Assert.True(annotated.Width > image.Width + 60, $"the band is only {annotated.Width - image.Width} pixels wide");
        Assert.True(annotated.Height >= image.Height);   // taller only when the legend needs it
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                Assert.Equal((byte)90, annotated.Pixels[3 * (y * annotated.Width + x)]);   // the picture itself is untouched
        bool Has(byte r, byte g, byte b) => Enumerable.Range(0, annotated.Width * annotated.Height)
            .Any(i => annotated.Pixels[3 * i] == r && annotated.Pixels[3 * i + 1] == g && annotated.Pixels[3 * i + 2] == b);
        Assert.True(Has(200, 30, 40), "the second class's swatch is missing");
    }

    [Fact]
    public void A_colour_scale_shows_the_heat_map_colours_from_high_to_low()
    {
        var heat = new RgbImage(20, 150);
        var annotated = Annotations.WithColorScale(heat, 0.001, 0.25, "attention");
        Assert.True(annotated.Width > 40);
        var top = Overlays.HeatColor(1);
        var bottom = Overlays.HeatColor(0);
        bool Has((byte R, byte G, byte B) c) => Enumerable.Range(0, annotated.Width * annotated.Height)
            .Any(i => annotated.Pixels[3 * i] == c.R && annotated.Pixels[3 * i + 1] == c.G && annotated.Pixels[3 * i + 2] == c.B);
        Assert.True(Has(top) && Has(bottom), "the bar lacks the scale's end colours");
    }

    [Theory]
    [InlineData(new long[] { 900, 80, 20 }, 1)]    // the background fills the image: its main object is shown
    [InlineData(new long[] { 400, 350, 250 }, 0)]  // no class covers half: the most predicted
    [InlineData(new long[] { 0, 1000, 0 }, 1)]     // one class everywhere: that one
    [InlineData(new long[] { 0, 0, 0 }, 0)]
    public void The_decoder_attention_shows_the_main_object_not_the_background(long[] counts, int expected) =>
        Assert.Equal(expected, AttentionMaps.MostInformativeClass(counts));
}
