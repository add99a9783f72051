using System;
using System.CommandLine;
using System.IO;
using Segmenter.Export;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter export &lt;model&gt; [--checkpoint F] --out model.onnx [--labels] [--fused] [--fp16] [--opset N]
/// [--triton DIR [--name N] [--max-batch B]]</c>: the generated ONNX graph, verified in ONNX Runtime.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOptions();
        var output = new Option<string?>("--out") { Description = "The .onnx file to write." };
        var labels = new Option<bool>("--labels") { Description = "Add a second output 'labels': the argmax over classes, [batch, height, width]." };
        var fused = new Option<bool>("--fused") { Description = "Use ONNX Runtime's contrib operators (com.microsoft Attention, BiasGelu)." };
        var fp16 = new Option<bool>("--fp16") { Description = "Weights and compute in float16 (input and output stay float32), for GPUs." };
        var opset = new Option<int>("--opset") { Description = "The ONNX opset (17 to 23).", DefaultValueFactory = _ => 17 };
        var triton = new Option<string?>("--triton") { Description = "Also write a Triton model repository entry under this folder." };
        var name = new Option<string?>("--name") { Description = "The Triton model's name (default: the model's name in lower case)." };
        var maxBatch = new Option<int>("--max-batch") { Description = "Triton max_batch_size.", DefaultValueFactory = _ => 8 };
        var tolerance = new Option<double?>("--tolerance") { Description = "Largest accepted |ONNX Runtime − TorchSharp| (default 1e-4, 5e-2 with --fp16)." };
        var command = new Command("export", "Export a model to ONNX (dynamic batch, height and width), then verify the file in ONNX Runtime against the model.")
        {
            output, labels, fused, fp16, opset, triton, name, maxBatch, tolerance,
        };
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = new OnnxExportOptions
            {
                Opset = result.GetValue(opset),
                Flavour = result.GetValue(fused) ? OnnxFlavour.Fused : OnnxFlavour.Portable,
                Float16 = result.GetValue(fp16),
                Labels = result.GetValue(labels),
            };
            var request = new ExportRequest
            {
                Options = options,
                OutputPath = result.GetValue(output),
                TritonRepository = result.GetValue(triton),
                TritonName = result.GetValue(name),
                TritonMaxBatch = result.GetValue(maxBatch),
                Tolerance = result.GetValue(tolerance),
            };
            if (request.OutputPath is null && request.TritonRepository is null) throw new ArgumentException("give --out model.onnx, --triton DIR, or both");
            var (network, _) = model.Build(result, console);
            using var _network = network;
            network.eval();
            ExportResult export;
            using (var progress = new ProgressLine(console.Err, "export", ExportVerification.Runs + 2, "stages"))
                export = VerifiedExport.Run(network, request with { Progress = (done, _, stage) => progress.Report(done, stage, worthALine: true) });
            foreach (var run in export.Runs)
                console.Out.WriteLine($"verified input [{string.Join(", ", run.Shape)}]: max |ONNX Runtime − TorchSharp| = {run.MaxAbsoluteDifference:0.00E+0}");
            if (export.TritonEntry is not null) console.Out.WriteLine($"Triton repository entry written to {export.TritonEntry}");
            console.Out.WriteLine($"{export.OnnxPath}: {new FileInfo(export.OnnxPath).Length / 1e6:F1} MB, {export.Model.Graph.Node.Count} nodes, opset {options.Opset}, {options.Flavour.ToString().ToLowerInvariant()}{(options.Float16 ? ", float16" : "")}");
            return 0;
        });
        return command;
    }
}
