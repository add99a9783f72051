using System;
using System.CommandLine;
using System.IO;
using System.Linq;
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
            var path = result.GetValue(output);
            var repository = result.GetValue(triton);
            if (path is null && repository is null) throw new ArgumentException("give --out model.onnx, --triton DIR, or both");
            var options = new OnnxExportOptions
            {
                Opset = result.GetValue(opset),
                Flavour = result.GetValue(fused) ? OnnxFlavour.Fused : OnnxFlavour.Portable,
                Float16 = result.GetValue(fp16),
                Labels = result.GetValue(labels),
            };
            var (network, _) = model.Build(result, console);
            using var _network = network;
            network.eval();
            var spec = network.Specification;
            var tritonName = result.GetValue(name) ?? TritonRepository.SuggestName(spec.Name);
            if (repository is not null) TritonRepository.Validate(tritonName, result.GetValue(maxBatch));   // before the export and its check
            var proto = OnnxExporter.Export(network, options);

            // Verified in memory first: a failed check writes nothing and replaces nothing.
            var limit = result.GetValue(tolerance) ?? ExportVerification.DefaultTolerance(options);
            var runs = ExportVerification.Run(network, proto);
            foreach (var run in runs)
                console.Out.WriteLine($"verified input [{string.Join(", ", run.Shape)}]: max |ONNX Runtime − TorchSharp| = {run.MaxAbsoluteDifference:0.00E+0}");
            var worst = runs.Max(r => r.MaxAbsoluteDifference);
            if (!(worst <= limit))
            {
                var advice = options.Float16
                    ? "float16 rounding can exceed it for some models and inputs; raise it with --tolerance if the difference is acceptable"
                    : "this is a bug: please report it with the spec";
                throw new CommandFailedException($"the exported graph differs from the model by {worst:0.00E+0}, above the tolerance {limit:0E+0}, so nothing was written; {advice}");
            }

            string file = path ?? Path.Combine(repository!, tritonName, "1", "model.onnx");
            if (path is not null) OnnxExporter.Save(proto, path);
            if (repository is not null)
            {
                var entry = TritonRepository.Write(repository, tritonName, proto, spec.NumClasses, options.Labels, result.GetValue(maxBatch));
                console.Out.WriteLine($"Triton repository entry written to {entry}");
            }
            console.Out.WriteLine($"{file}: {new FileInfo(file).Length / 1e6:F1} MB, {proto.Graph.Node.Count} nodes, opset {options.Opset}, {options.Flavour.ToString().ToLowerInvariant()}{(options.Float16 ? ", float16" : "")}");
            return 0;
        });
        return command;
    }
}
