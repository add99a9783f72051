using System;
using System.CommandLine;
using System.Linq;
using Segmenter.Runtime;

namespace Segmenter.Cli.Commands;

/// <summary><c>--precision float32|bf16</c>: the TorchSharp engine's inference precision (predict, eval, bench).</summary>
internal sealed class PrecisionOption
{
    public Option<string> Option { get; } = new("--precision")
    {
        Description = "float32, or bf16: the transformer blocks' matrix products and the GELU between them in bfloat16 (LayerNorm, the residual stream and the output stay float32). " +
                      "Fast where the CPU has AVX512-BF16 or AMX, or on a GPU.",
        DefaultValueFactory = _ => "float32",
    };

    public void AddTo(Command command) => command.Add(Option);

    /// <summary>The precision asked for; warns when bf16 is asked for on a CPU without bf16 instructions.</summary>
    public ComputePrecision Read(ParseResult result, CliConsole console, bool onCpu)
    {
        var text = result.GetValue(Option)!.Trim().ToLowerInvariant();
        var precision = text switch
        {
            "float32" or "fp32" or "f32" => ComputePrecision.Float32,
            "bf16" or "bfloat16" => ComputePrecision.BFloat16,
            _ => throw new ArgumentException($"--precision '{result.GetValue(Option)}': use float32 or bf16"),
        };
        if (precision == ComputePrecision.BFloat16 && onCpu && !PlatformInfo.VectorFeatures.Any(f => f is "avx512_bf16" or "amx_bf16"))
            console.Warning("this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16): libtorch emulates bf16 products, usually slower than float32");
        return precision;
    }

    /// <summary>Sets <paramref name="model"/>'s precision from the option (after its weights are loaded).</summary>
    public void Apply(ParseResult result, CliConsole console, SegmenterModel model)
    {
        var precision = Read(result, console, model.parameters().First().device.type == TorchSharp.DeviceType.CPU);
        if (precision != ComputePrecision.Float32) model.SetPrecision(precision);
    }
}
