using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Linq;
using Segmenter.Export;
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
        var onnx = new Option<string?>("--onnx") { Description = "Run an exported .onnx file with ONNX Runtime instead of a model." };
        var provider = new Option<string>("--provider") { Description = "With --onnx: cpu, cuda or tensorrt.", DefaultValueFactory = _ => "cpu" };
        var command = new Command("predict", "Run a model (or an exported ONNX file) on a tensor of images and write its logits.") { tensor, logits, batch, onnx, provider };
        model.AddTo(command);
        model.Model.Arity = ArgumentArity.ZeroOrOne;
        command.SetAction(result =>
        {
            Func<Tensor, Tensor> run;
            IDisposable owner;
            if (result.GetValue(onnx) is { } onnxPath)
            {
                var session = new OnnxSession(onnxPath, new OnnxSessionOptions { Provider = result.GetValue(provider)! });
                (run, owner) = (session.Run, session);
            }
            else
            {
                if (string.IsNullOrEmpty(result.GetValue(model.Model)))
                    throw new ArgumentException("give a model (zoo name, file.seg[:Model] or variant.yml) or --onnx model.onnx");
                var (network, _) = model.Build(result, console);
                var device = Devices.Parse(result.GetValue(model.Device)!);
                (run, owner) = (images => { using var onDevice = images.to(device); return network.Predict(onDevice).cpu(); }, network);
            }
            using var _owner = owner;
            using var input = TensorArgument.Read(result.GetValue(tensor)!);
            SegmenterModel.CheckImages(input);
            int size = Math.Max(1, result.GetValue(batch));

            var clock = Stopwatch.StartNew();
            var outputs = new List<Tensor>();
            try
            {
                for (long start = 0; start < input.shape[0]; start += size)
                {
                    using var chunk = input.narrow(0, start, Math.Min(size, input.shape[0] - start)).to(float32);
                    outputs.Add(run(chunk));
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
