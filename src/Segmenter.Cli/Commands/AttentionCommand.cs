using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Inference;
using Segmenter.Inference.Imaging;
using static TorchSharp.torch;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter attention &lt;model&gt; --checkpoint F (--image IMG | --tensor T[:name]) --layer i [--decoder] --out DIR</c>:
/// the softmax attention of an encoder or mask-decoder layer, as the paper's figures show it.
/// </summary>
internal static class AttentionCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var image = new Option<string?>("--image") { Description = "An image file: heat maps per head are written as PNGs over it." };
        var tensor = new Option<string?>("--tensor") { Description = "A normalised [B, 3, H, W] tensor, file.safetensors[:name]: the maps are written to DIR/attention.safetensors." };
        var layer = new Option<int>("--layer") { Description = "The layer (0-based).", Required = true };
        var decoder = new Option<bool>("--decoder") { Description = "A mask-decoder layer instead of an encoder layer." };
        var classOption = new Option<string?>("--class") { Description = "With --decoder and --image: the class whose embedding's attention is drawn (index or name; default: the predicted class with the most pixels among those covering less than half the image, i.e. the main object rather than the background)." };
        var output = new Option<string>("--out") { Description = "The output folder.", Required = true };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "With --image: an image with more pixels runs with its short side at the model's training size (a layer's attention grows with the square of the patches).",
            DefaultValueFactory = _ => 1024L * 1024,
        };
        var command = new Command("attention", "Write the attention maps of a layer: heat maps over an image, or a tensor file.") { image, tensor, layer, decoder, classOption, output, maxPixels };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var imagePath = result.GetValue(image);
            var tensorPath = result.GetValue(tensor);
            if ((imagePath is null) == (tensorPath is null))
                throw new ArgumentException("give exactly one input: --image IMG or --tensor file.safetensors[:name]");
            var (network, device) = model.Build(result, console);
            using var _network = network;
            network.eval();
            using var noGrad = no_grad();
            var directory = result.GetValue(output)!;
            Directory.CreateDirectory(directory);
            int index = result.GetValue(layer);
            bool fromDecoder = result.GetValue(decoder);
            var spec = network.Specification;

            if (tensorPath is not null)
            {
                using var read = TensorArgument.Read(tensorPath);
                if (read.dim() != 4 || read.shape[1] != 3 || read.shape[2] < spec.PatchSize || read.shape[3] < spec.PatchSize)
                    throw new ArgumentException($"{tensorPath}: the tensor is [{string.Join(", ", read.shape)}]; expected normalised images [B, 3, H, W] of at least one {spec.PatchSize}×{spec.PatchSize} patch");
                using var input = read.to(device);
                using var maps = fromDecoder ? network.DecoderAttention(input, index) : network.EncoderAttention(input, index);
                var path = Path.Combine(directory, "attention.safetensors");
                SafeTensors.Write(path, new[] { new KeyValuePair<string, Tensor>("attention", maps) });
                console.Out.WriteLine($"attention [{string.Join(", ", maps.shape)}] written to {path}");
                return 0;
            }

            var picture = ImageFiles.ReadRgb(imagePath!);
            long budget = result.GetValue(maxPixels);
            if (budget < 1) throw new ArgumentException($"--max-pixels {budget}: give a positive number of pixels");
            var (height, width) = SegmentationInference.RunSize(picture.Height, picture.Width, budget, Math.Min(spec.ImageHeight, spec.ImageWidth));
            if (height != picture.Height || width != picture.Width)
                console.Out.WriteLine($"{imagePath} is {picture.Width}×{picture.Height}, over --max-pixels {budget:N0}: its attention is taken at {width}×{height} and drawn over it at its size");
            using var onCpu = ImageTensors.ToTensor(ImageFiles.Resized(picture, width, height), spec.Normalization);
            using var images = onCpu.to(device);
            int cls = fromDecoder
                ? result.GetValue(classOption) is { } requested ? AttentionMaps.ParseClass(requested, spec) : AttentionMaps.MostInformativeClass(network, images)
                : 0;
            if (height < spec.PatchSize || width < spec.PatchSize)
                throw new ArgumentException($"{imagePath} runs at {width}×{height}, smaller than one {spec.PatchSize}×{spec.PatchSize} patch");
            using var attention = AttentionMaps.Rows(network, images, index, fromDecoder, cls);
            var prefix = fromDecoder ? $"decoder-layer{index}-class{cls}" : $"encoder-layer{index}";
            console.Out.WriteLine(fromDecoder
                ? $"class {cls} ({spec.ClassName(cls)}): attention of its embedding to the {attention.GridHeight}×{attention.GridWidth} patches"
                : $"attention of the class token to the {attention.GridHeight}×{attention.GridWidth} patches");
            int heads = attention.Heads;
            for (int head = 0; head <= heads; head++)
            {
                using var row = head < heads ? attention.Rows[head] : attention.Rows.mean(new long[] { 0 });
                var name = head < heads ? $"{prefix}-head{head}.png" : $"{prefix}-mean.png";
                var weights = row.data<float>().ToArray();
                var heat = Overlays.HeatMap(picture, weights, attention.GridHeight, attention.GridWidth);
                ImageFiles.WritePng(Path.Combine(directory, name), Annotations.WithColorScale(heat, weights.Min(), weights.Max(), "attention"));
            }
            console.Out.WriteLine($"{heads} heads and their mean written to {directory}/{prefix}-*.png");
            return 0;
        });
        return command;
    }
}
