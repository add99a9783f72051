using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Export;
using Segmenter.Runtime;

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
        var output = new Option<string?>("--out") { Description = "The .onnx file to write (this, --triton, or both are required)." };
        var externalData = new Option<bool>("--external-data") { Description = "Write the weights to a data file beside the .onnx file (ONNX's external data, <file>.onnx.<hash>.data): ONNX Runtime maps it into memory, so a session opens holding the weights once instead of twice. Keep the two files together." };
        var labels = new Option<bool>("--labels") { Description = "Add a second output 'labels': the argmax over classes, [batch, height, width]." };
        var fused = new Option<bool>("--fused") { Description = "Use ONNX Runtime's contrib operators (com.microsoft Attention, BiasGelu; with --int8, MultiHeadAttention: a flash attention on the CPU)." };
        var fp16 = new Option<bool>("--fp16") { Description = "Weights and compute in float16 (input and output stay float32), for GPUs." };
        var int8 = new Option<bool>("--int8") { Description = "Linear layers in int8 for CPUs (weights per output channel, activations dynamically; standard ONNX operators, or with --fused ONNX Runtime's attention). Checked by label agreement." };
        var minAgreement = new Option<double>("--min-agreement") { Description = "With --int8: the smallest accepted share of pixels whose class agrees with the float32 model in the check.", DefaultValueFactory = _ => ExportRequest.DefaultMinimumAgreement }.Within(0, 1, "a share of the pixels, from 0 to 1 (0.99: 99 %)");
        var attention = new AttentionOption("How the portable graph writes attention: batched (all heads in one product) or per-head (one head's scores at a time: less memory, and on CPUs within 6 % of batched or faster). Default: batched for GPU files (--fp16, --triton-tensorrt), per-head otherwise.");
        var opset = new Option<int>("--opset") { Description = "The ONNX opset (17 to 23).", DefaultValueFactory = _ => 17 };
        var triton = new Option<string?>("--triton") { Description = "Write a Triton model repository entry under this folder (this, --out, or both are required)." };
        var name = new Option<string?>("--name") { Description = "The Triton model's name (default: the model's name in lower case)." };
        var maxBatch = new Option<int>("--max-batch") { Description = "Triton max_batch_size.", DefaultValueFactory = _ => 8 };
        var tolerance = new Option<double?>("--tolerance") { Description = "Largest accepted |ONNX Runtime − TorchSharp| (default 1e-4, 5e-2 with --fp16)." }.Within(0, double.MaxValue, "a difference of 0 or more");
        var fixedSize = new Option<string?>("--static") { Description = "A fixed input size HxW (e.g. 512x512) for fixed-shape deployment (TensorRT engines, edge runtimes); the batch stays dynamic. Default: dynamic height and width." };
        var instances = new Option<int>("--instances") { Description = "Triton: model instances per device (instance_group count).", DefaultValueFactory = _ => 1 };
        var queueDelay = new Option<int>("--max-queue-delay-us") { Description = "Triton: how long a request waits to be batched with others (dynamic_batching), in microseconds.", DefaultValueFactory = _ => 100 };
        var warmup = new Option<string[]>("--warmup") { Description = "Triton: image sizes HxW run once at load (model_warmup), so the model is not ready before its engines exist (default: the model's image size, or the --static size).", AllowMultipleArgumentsPerToken = true };
        var tensorRt = new Option<bool>("--triton-tensorrt") { Description = "Triton: run through ONNX Runtime's TensorRT accelerator on the GPU (settings below)." };
        var trt = new TensorRtOptions();
        var command = new Command("export", "Export a model to ONNX (dynamic batch, height and width, or --static), then verify the file in ONNX Runtime against the model. Give --out, --triton, or both.")
        {
            output, externalData, labels, fused, fp16, int8, minAgreement, attention.Option, opset, fixedSize, triton, name, maxBatch, instances, queueDelay, warmup, tensorRt, tolerance,
        };
        trt.AddTo(command);
        model.AddTo(command);
        command.SetAction(result =>
        {
            var options = new OnnxExportOptions
            {
                Opset = result.GetValue(opset),
                Flavour = result.GetValue(fused) ? OnnxFlavour.Fused : OnnxFlavour.Portable,
                Float16 = result.GetValue(fp16),
                Int8 = result.GetValue(int8),
                Attention = attention.Read(result),
                ForGpu = result.GetValue(tensorRt),
                Labels = result.GetValue(labels),
                StaticSize = result.GetValue(fixedSize) is { } size ? Format.ParseSize(size, "--static") : null,
            };
            options.Validate();   // before the model is built
            var request = new ExportRequest
            {
                Options = options,
                OutputPath = result.GetValue(output),
                ExternalData = result.GetValue(externalData),
                TritonRepository = result.GetValue(triton),
                TritonName = result.GetValue(name),
                Triton = Triton(result, maxBatch, instances, queueDelay, warmup, tensorRt, trt),
                Tolerance = result.GetValue(tolerance),
                MinimumAgreement = result.GetValue(minAgreement),
            };
            if (options.StaticSize is { } fixedShape && request.Triton.TensorRt?.Profile is { } profile
                && new[] { profile.Min, profile.Opt, profile.Max }.Any(p => (p.Height, p.Width) != fixedShape))
                throw new ArgumentException($"--trt-profile sizes must be the --static size {fixedShape.Height}x{fixedShape.Width}: a fixed-shape graph takes no other (only the batch varies)");
            if (request.OutputPath is null && request.TritonRepository is null) throw new ArgumentException("give --out model.onnx, --triton DIR, or both");
            var (network, _) = model.Build(result, console);
            if (options.StaticSize is { } staticSize)
            {
                if (request.Triton.Warmup.Any(w => w != staticSize))
                    throw new ArgumentException($"--warmup sizes must be the --static size {staticSize.Height}x{staticSize.Width}: a fixed-shape graph takes no other");
                request = request with { Triton = request.Triton with { Warmup = new[] { staticSize } } };
            }
            else if (request.Triton.Warmup.Count == 0)
            {
                // The warm-up builds the engine the first requests need: the profile's optimum, or the model's own size.
                var warmupSize = request.Triton.TensorRt?.Profile is { } shapes ? (shapes.Opt.Height, shapes.Opt.Width) : (network.Specification.ImageHeight, network.Specification.ImageWidth);
                request = request with { Triton = request.Triton with { Warmup = new[] { warmupSize } } };
            }
            using var _network = network;
            network.eval();
            ExportResult export;
            using (var progress = new ProgressLine(console.Err, "export", ExportVerification.Runs + 2, "stages"))
                export = VerifiedExport.Run(network, request with { Progress = (done, _, stage) => progress.Report(done, stage, worthALine: true) });
            foreach (var run in export.Runs)
                console.Out.WriteLine($"verified input [{string.Join(", ", run.Shape)}]: max |ONNX Runtime − TorchSharp| = {run.MaxAbsoluteDifference:0.00E+0}, " +
                                      $"classes agree on {100 * run.LabelAgreement:F2} % of the pixels");
            // The check ran in ONNX Runtime on this CPU: without VNNI its u8×s8 products are added in pairs in 16 bits, which can
            // saturate (measured: MatmulPeakTests), so the classes may agree less here than where the file will be deployed.
            if (options.Int8 && System.Runtime.Intrinsics.X86.Avx2.IsSupported && !PlatformInfo.HasVnni)
                console.Out.WriteLine("checked on a CPU without VNNI, where ONNX Runtime adds 8-bit products in pairs in 16 bits, which can saturate: " +
                                      "on a CPU with VNNI (32-bit sums) the int8 file's classes may agree more");
            if (export.TritonEntry is not null) console.Out.WriteLine($"Triton repository entry written to {export.TritonEntry}");
            var data = OnnxExternalData.DataFiles(export.OnnxPath);
            console.Out.WriteLine($"{export.OnnxPath}: {new FileInfo(export.OnnxPath).Length / 1e6:F1} MB{string.Concat(data.Select(d => $" (weights in {Path.GetFileName(d)}, {new FileInfo(d).Length / 1e6:F1} MB)"))}, {export.Model.Graph.Node.Count} nodes, opset {options.Opset}, {options.Flavour.ToString().ToLowerInvariant()}{(options.Float16 ? ", float16" : "")}{(options.Int8 ? ", int8 linear layers" : "")}" +
                                  (options.Flavour == OnnxFlavour.Portable && options.Opset < 23 ? $", attention {(options.AttentionLayout == OnnxAttention.PerHead ? "per head" : "batched")}" : ""));
            return 0;
        });
        return command;
    }

    private static TritonSettings Triton(ParseResult result, Option<int> maxBatch, Option<int> instances, Option<int> queueDelay, Option<string[]> warmup,
        Option<bool> tensorRt, TensorRtOptions trt)
    {
        if (!result.GetValue(tensorRt) && trt.Any(result))
            throw new ArgumentException("--trt-fp16, --trt-cache and --trt-profile configure the Triton entry's TensorRT accelerator: add --triton-tensorrt");
        if (result.GetValue(queueDelay) < 0) throw new ArgumentException($"--max-queue-delay-us {result.GetValue(queueDelay)}: 0 or more");
        return new TritonSettings
        {
            MaxBatch = result.GetValue(maxBatch),
            Instances = result.GetValue(instances),
            MaxQueueDelayMicroseconds = result.GetValue(queueDelay),
            Warmup = (result.GetValue(warmup) ?? Array.Empty<string>()).Select(w => Format.ParseSize(w, "--warmup")).ToList(),
            TensorRt = result.GetValue(tensorRt) ? trt.Read(result) : null,
        };
    }
}
