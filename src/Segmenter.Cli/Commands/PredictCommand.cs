using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Linq;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using static TorchSharp.torch;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter predict &lt;model&gt; --tensor in.safetensors[:name] --logits out.safetensors</c>.</summary>
internal static class PredictCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var tensor = new Option<string>("--tensor") { Description = "Input: an already-normalised float32 [B, 3, H, W] tensor, file.safetensors[:name] (default name: input).", Required = true };
        var logits = new Option<string>("--logits") { Description = "Output safetensors file for the logits [B, K, H, W] (float32), written atomically.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Images per forward pass.", DefaultValueFactory = _ => 8 };
        var command = new Command("predict", "Run a model on a tensor of images and write its logits.") { tensor, logits, batch };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var (network, _) = model.Build(result, console);
            using var _network = network;
            using var input = TensorArgument.Read(result.GetValue(tensor)!);
            SegmenterModel.CheckImages(input);
            var device = Devices.Parse(result.GetValue(model.Device)!);
            int size = Math.Max(1, result.GetValue(batch));

            var clock = Stopwatch.StartNew();
            var outputs = new List<Tensor>();
            try
            {
                for (long start = 0; start < input.shape[0]; start += size)
                {
                    using var chunk = input.narrow(0, start, Math.Min(size, input.shape[0] - start)).to(float32, device);
                    using var output = network.Predict(chunk);
                    outputs.Add(output.cpu());
                }
                using var all = cat(outputs, 0);
                SafeTensors.Write(result.GetValue(logits)!, new[] { new KeyValuePair<string, Tensor>("logits", all) });
                console.Out.WriteLine($"logits [{string.Join(", ", all.shape)}] written to {result.GetValue(logits)} ({clock.Elapsed.TotalSeconds:F2} s)");
            }
            finally
            {
                foreach (var output in outputs) output.Dispose();
            }
            return 0;
        });
        return command;
    }
}
