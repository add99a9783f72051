using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Tasks;
using Google.Protobuf;
using PuppeteerSharp;
using Segmenter.Export;
using Segmenter.Inference;
using Segmenter.Inference.Imaging;
using Segmenter.Runtime;
using Segmenter.Serving;
using Segmenter.Serving.Batching;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Tests;

/// <summary>The image endpoint (the same labels as predict's algorithm) and the page, driven in Debian's Chromium.</summary>
public sealed class SegmentTests : IClassFixture<OnnxServerFixture>
{
    private readonly TestServer server;

    public SegmentTests(OnnxServerFixture fixture) => server = fixture.Server;

    /// <summary>A picture of colour bands and a disc (80×48 unless told), as PNG.</summary>
    private static byte[] Picture(int width = 80, int height = 48) => ImageFiles.EncodePng(PictureImage(width, height));

    private static RgbImage PictureImage(int width, int height)
    {
        var image = new RgbImage(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            bool disc = (x - 50) * (x - 50) + (y - 20) * (y - 20) < 150;
            image.Set(x, y, (byte)(disc ? 250 : x * 3), (byte)(disc ? 20 : y * 5), (byte)(disc ? 30 : 255 - x * 2));
        }
        return image;
    }

    private static ByteArrayContent Png(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    /// <summary>
    /// Labels as predict computes them: the same exported model, whole image or sliding window at the training size; an image
    /// over <paramref name="maxPixels"/> is run at <see cref="SegmentationInference.RunSize"/> and its logits upsampled to its size.
    /// </summary>
    private static byte[] Expected(byte[] png, InferenceMode mode, long maxPixels = long.MaxValue)
    {
        manual_seed(7);
        using var model = (SegmenterModel)TestModels.Get("TinyLinear").Create(null);
        model.eval();
        using var session = new OnnxSession(OnnxExporter.Export(model).ToByteArray(), new OnnxSessionOptions { Threads = 1 });
        var image = ImageFiles.DecodeRgb(png, "picture");
        var (height, width) = SegmentationInference.RunSize(image.Height, image.Width, maxPixels, 32);
        using var input = ImageTensors.ToTensor(ImageFiles.Resized(image, width, height), model.Specification.Normalization);
        using var logits = SegmentationInference.Logits(session.Run, input, InferenceOptions.ForWindow(mode, 32));
        using var labels = height == image.Height && width == image.Width ? logits.argmax(1)[0] : Resize.BilinearArgmax(logits, image.Height, image.Width);
        return ImageTensors.ToLabelMap(labels).Labels;
    }

    private static ByteArrayContent Jpeg(RgbImage image)
    {
        var path = Path.GetTempFileName() + ".jpg";
        try
        {
            ImageFiles.WriteJpeg(path, image);
            var content = new ByteArrayContent(File.ReadAllBytes(path));
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            return content;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] ReadLabels(byte[] png)
    {
        var path = Path.GetTempFileName() + ".png";
        try
        {
            File.WriteAllBytes(path, png);
            return ImageFiles.ReadLabels(path).Labels;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("slide")]
    [InlineData("whole")]
    public async Task The_label_image_equals_predicts_labels(string mode)
    {
        var png = Picture();
        using var response = await server.Http.PostAsync($"/v2/models/tinylinear/segment?mode={mode}", Png(png));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var labels = ReadLabels(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(Expected(png, InferenceOptions.ParseMode(mode)), labels);
    }

    [Fact]
    public async Task A_jpeg_upload_is_segmented_as_predict_segments_it()
    {
        using var jpeg = Jpeg(PictureImage(80, 48));
        var bytes = await jpeg.ReadAsByteArrayAsync();
        using var response = await server.Http.PostAsync("/v2/models/tinylinear/segment?mode=slide", jpeg);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Expected(bytes, InferenceMode.Slide), ReadLabels(await response.Content.ReadAsByteArrayAsync()));
    }

    /// <summary>
    /// A photo larger than --max-pixels is run at the largest size within it and labelled at its own size; one larger than
    /// --max-image-pixels is refused before it is decoded.
    /// </summary>
    [Theory]
    [InlineData("slide")]
    [InlineData("whole")]
    public async Task An_image_over_the_pixel_limit_is_run_smaller_and_labelled_at_its_own_size(string mode)
    {
        const long maxPixels = 1600;
        var options = new ServerOptions { Batching = new BatchingOptions(MaxDelay: TimeSpan.FromMilliseconds(5), MaxPixels: maxPixels), MaxImagePixels = 120 * 90 };
        await using var small = await TestServer.StartOnnx(options: options);
        var png = Picture(96, 72);
        Assert.Equal((32, 42), SegmentationInference.RunSize(72, 96, maxPixels, 32));
        using var response = await small.Http.PostAsync($"/v2/models/tinylinear/segment?mode={mode}", Png(png));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var labels = ReadLabels(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(96 * 72, labels.Length);
        Assert.Equal(Expected(png, InferenceOptions.ParseMode(mode), maxPixels), labels);

        using var overlay = await small.Http.PostAsync("/v2/models/tinylinear/segment?overlay=1", Png(png));
        Assert.True(ImageFiles.DecodeRgb(await overlay.Content.ReadAsByteArrayAsync(), "overlay").Width >= 96);

        using var tooLarge = await small.Http.PostAsync("/v2/models/tinylinear/segment", Png(Picture(121, 90)));
        Assert.Equal(HttpStatusCode.BadRequest, tooLarge.StatusCode);
        Assert.Contains("--max-image-pixels 10,800", JsonDocument.Parse(await tooLarge.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Json_gives_classes_and_shares_and_a_form_upload_works()
    {
        var png = Picture();
        using var form = new MultipartFormDataContent { { Png(png), "image", "picture.png" } };
        using var response = await server.Http.PostAsync("/v2/models/tinylinear/segment?format=json", form);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(80, json.GetProperty("width").GetInt32());
        Assert.Equal(48, json.GetProperty("height").GetInt32());
        var classes = json.GetProperty("classes").EnumerateArray().ToList();
        Assert.Equal(80 * 48, classes.Sum(c => c.GetProperty("pixels").GetInt64()));
        Assert.Equal(1.0, classes.Sum(c => c.GetProperty("share").GetDouble()), 4);
        var expected = Expected(png, InferenceMode.Slide);
        foreach (var c in classes)
            Assert.Equal(expected.Count(l => l == c.GetProperty("index").GetInt32()), c.GetProperty("pixels").GetInt64());
        Assert.Equal(expected, ReadLabels(json.GetProperty("labels_png").GetBytesFromBase64()));
        Assert.Equal(80, ImageFiles.DecodeRgb(json.GetProperty("overlay_png").GetBytesFromBase64(), "overlay").Width);

        using var overlay = await server.Http.PostAsync("/v2/models/tinylinear/segment?overlay=1", Png(png));
        Assert.True(ImageFiles.DecodeRgb(await overlay.Content.ReadAsByteArrayAsync(), "overlay").Height >= 48);
    }

    [Theory]
    [InlineData("mode=whole", "not an image", "not an image that can be decoded")]
    [InlineData("mode=whole", "", "holds no image")]
    [InlineData("mode=multiscale", "png", "mode=whole and mode=slide")]
    [InlineData("mode=sideways", "png", "unknown inference mode")]
    [InlineData("overlay=maybe", "png", "use 1 or 0")]
    [InlineData("format=gif", "png", "format=gif")]
    public async Task Bad_uploads_are_400(string query, string body, string message)
    {
        var bytes = body == "png" ? Picture() : System.Text.Encoding.UTF8.GetBytes(body);
        using var response = await server.Http.PostAsync($"/v2/models/tinylinear/segment?{query}", Png(bytes));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_truncated_png_is_400_and_the_server_stays_up()
    {
        var png = Picture();
        using var response = await server.Http.PostAsync("/v2/models/tinylinear/segment", Png(png.AsSpan(0, png.Length / 2).ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var again = await server.Http.PostAsync("/v2/models/tinylinear/segment", Png(png));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_jpeg_cut_short_and_closed_again_is_400_not_segmented_with_invented_blocks()
    {
        using var whole = Jpeg(PictureImage(80, 48));
        var bytes = await whole.ReadAsByteArrayAsync();
        int sos = Enumerable.Range(0, bytes.Length - 1).Last(i => bytes[i] == 0xFF && bytes[i + 1] == 0xDA);
        var cut = new ByteArrayContent(bytes[..((sos + bytes.Length) / 2)].Concat(new byte[] { 0xFF, 0xD9 }).ToArray());
        cut.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await server.Http.PostAsync("/v2/models/tinylinear/segment", cut);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("the uploaded file: the JPEG's image data ends before the 80×48 pixels its header claims",
            JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    /// <summary>
    /// The page in a real browser: Debian's Chromium, headless, driven over the DevTools protocol. An image is dropped on the
    /// drop zone (a drop event carrying a file, as a person's drag and drop makes), and the legend it shows is read back.
    /// </summary>
    [SkippableFact]
    public async Task The_page_shows_the_overlay_and_the_legend_of_a_dropped_image()
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase), $"{chromium} is missing in CI: .ci/run installs Debian's chromium");
            Skip.If(true, "Debian's Chromium is not installed here (apt-get install chromium)");
        }
        var png = Picture();
        using var reference = await server.Http.PostAsync("/v2/models/tinylinear/segment?format=json", Png(png));
        var expected = JsonDocument.Parse(await reference.Content.ReadAsStringAsync()).RootElement.GetProperty("classes").EnumerateArray()
            .Select(c => (c.GetProperty("name").GetString()!, Math.Round(c.GetProperty("share").GetDouble(), 4))).ToList();

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = new[] { "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage" },
        });
        await using var page = await browser.NewPageAsync();
        var errors = new System.Collections.Generic.List<string>();
        page.Console += (_, e) => { if (e.Message.Type == PuppeteerSharp.ConsoleType.Error) errors.Add(e.Message.Text); };
        page.PageError += (_, e) => errors.Add(e.Message);
        await page.GoToAsync(server.Server.Address.ToString(), WaitUntilNavigation.Networkidle0);
        Assert.Contains("5 classes", await page.EvaluateExpressionAsync<string>("document.getElementById('summary').textContent"));

        await page.EvaluateFunctionAsync(@"async (base64) => {
            const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], 'picture.png', { type: 'image/png' }));
            const zone = document.getElementById('drop');
            zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }", Convert.ToBase64String(png));
        await page.WaitForSelectorAsync("body[data-state=shown]", new WaitForSelectorOptions { Timeout = 60_000 });

        var legend = await page.EvaluateExpressionAsync<string[][]>(
            "Array.from(document.querySelectorAll('#legend li')).map(li => [li.querySelector('.name').textContent, li.dataset.share, li.querySelector('.share').textContent])");
        Assert.Equal(expected.Select(e => e.Item1), legend.Select(l => l[0]));
        Assert.Equal(expected.Select(e => e.Item2), legend.Select(l => Math.Round(double.Parse(l[1], System.Globalization.CultureInfo.InvariantCulture), 4)));
        Assert.All(legend, l => Assert.EndsWith(" %", l[2]));
        Assert.Equal(80, await page.EvaluateExpressionAsync<int>("document.getElementById('overlay').naturalWidth"));
        Assert.Contains("picture.png", await page.EvaluateExpressionAsync<string>("document.getElementById('caption').textContent"));
        Assert.True(errors.Count == 0, "the page logged errors: " + string.Join("; ", errors));
        var screenshot = await page.ScreenshotDataAsync();
        Assert.True(screenshot.Length > 5_000, "the screenshot is blank");
        if (Environment.GetEnvironmentVariable("SEGMENTER_PAGE_SCREENSHOT") is { Length: > 0 } path) await File.WriteAllBytesAsync(path, screenshot);
    }
}
