using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
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
        var classOption = new Option<string?>("--class") { Description = "With --decoder and --image: the class whose embedding's attention is drawn (index or name; default: the class predicted most)." };
        var output = new Option<string>("--out") { Description = "The output folder.", Required = true };
        var command = new Command("attention", "Write the attention maps of a layer: heat maps over an image, or a tensor file.") { image, tensor, layer, decoder, classOption, output };
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
                using var input = read.to(device);
                using var maps = fromDecoder ? network.DecoderAttention(input, index) : network.EncoderAttention(input, index);
                var path = Path.Combine(directory, "attention.safetensors");
                SafeTensors.Write(path, new[] { new KeyValuePair<string, Tensor>("attention", maps) });
                console.Out.WriteLine($"attention [{string.Join(", ", maps.shape)}] written to {path}");
                return 0;
            }

            var picture = ImageFiles.ReadRgb(imagePath!);
            using var onCpu = ImageTensors.ToTensor(picture, spec.Normalization);
            using var images = onCpu.to(device);
            int gridHeight = picture.Height / spec.PatchSize, gridWidth = picture.Width / spec.PatchSize;
            if (gridHeight == 0 || gridWidth == 0)
                throw new ArgumentException($"{imagePath} is {picture.Width}×{picture.Height}, smaller than one {spec.PatchSize}×{spec.PatchSize} patch");
            int patches = gridHeight * gridWidth;

            using var attention = fromDecoder ? network.DecoderAttention(images, index) : network.EncoderAttention(images, index);
            int query;
            int firstKey;
            string prefix;
            if (fromDecoder)
            {
                int cls = ChooseClass(result.GetValue(classOption), network, images, spec);
                query = patches + cls;
                firstKey = 0;
                prefix = $"decoder-layer{index}-class{cls}";
                console.Out.WriteLine($"class {cls} ({spec.ClassName(cls)}): attention of its embedding to the {gridHeight}×{gridWidth} patches");
            }
            else
            {
                query = 0;
                firstKey = spec.ExtraTokens;
                prefix = $"encoder-layer{index}";
                console.Out.WriteLine($"attention of the class token to the {gridHeight}×{gridWidth} patches");
            }

            using var rows = attention[0, TensorIndex.Colon, query, TensorIndex.Slice(firstKey, firstKey + patches)].cpu();   // [heads, N]
            long heads = rows.shape[0];
            for (int head = 0; head <= heads; head++)
            {
                using var row = head < heads ? rows[head] : rows.mean(new long[] { 0 });
                var name = head < heads ? $"{prefix}-head{head}.png" : $"{prefix}-mean.png";
                ImageFiles.WritePng(Path.Combine(directory, name), Overlays.HeatMap(picture, row.data<float>().ToArray(), gridHeight, gridWidth));
            }
            console.Out.WriteLine($"{heads} heads and their mean written to {directory}/{prefix}-*.png");
            return 0;
        });
        return command;
    }

    private static int ChooseClass(string? requested, SegmenterModel network, Tensor images, SegmenterSpec spec)
    {
        if (requested is not null)
        {
            if (int.TryParse(requested, out var number) && number >= 0 && number < spec.NumClasses) return number;
            for (int i = 0; i < spec.NumClasses; i++)
            {
                if (string.Equals(spec.ClassName(i), requested, StringComparison.OrdinalIgnoreCase)) return i;
            }
            throw new ArgumentException($"--class '{requested}' is neither a class index below {spec.NumClasses} nor a class name of {spec.Name}");
        }
        using var logits = network.Predict(images);
        using var labels = logits.argmax(1).flatten();
        using var counts = labels.bincount(null, spec.NumClasses);
        return (int)counts.argmax().item<long>();
    }
}
