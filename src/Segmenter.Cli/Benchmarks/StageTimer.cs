using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// Times the stages of a forward pass with module hooks: patch embedding, attention and MLP (in the
/// encoder and the mask decoder's blocks), the rest of the decoder, and the rest (padding, position
/// embedding, norms, upsampling, cropping) as the difference to the whole.
/// </summary>
internal sealed class StageTimer : IDisposable
{
    private readonly Dictionary<string, double> milliseconds = new();
    private readonly List<Action> removers = new();
    private readonly Dictionary<nn.Module, Stopwatch> running = new();

    public StageTimer(SegmenterModel model)
    {
        foreach (var (name, module) in model.named_modules())
        {
            string? stage = module switch
            {
                PatchEmbedding => "patch embedding",
                SelfAttention => name.StartsWith("decoder", StringComparison.Ordinal) ? "decoder attention" : "attention",
                Mlp => name.StartsWith("decoder", StringComparison.Ordinal) ? "decoder MLP" : "MLP",
                _ when name == "decoder" => "decoder (all)",
                _ => null,
            };
            if (stage is null) continue;
            Hook(module, stage);
        }
        Hook(model, "total");
    }

    private void Hook(nn.Module module, string stage)
    {
        switch (module)
        {
            case nn.Module<Tensor, Tensor> m:
                removers.Add(m.register_forward_pre_hook((_, input) => { Start(m); return input; }).remove);
                removers.Add(m.register_forward_hook((_, _, output) => { Stop(m, stage); return output; }).remove);
                break;
            case nn.Module<Tensor, long, long, Tensor> m:
                removers.Add(m.register_forward_pre_hook((_, a, b, c) => { Start(m); return (a, b, c); }).remove);
                removers.Add(m.register_forward_hook((_, _, _, _, output) => { Stop(m, stage); return output; }).remove);
                break;
        }
    }

    private void Start(nn.Module module) => running[module] = Stopwatch.StartNew();

    private void Stop(nn.Module module, string stage)
    {
        if (!running.Remove(module, out var clock)) return;
        milliseconds[stage] = milliseconds.GetValueOrDefault(stage) + clock.Elapsed.TotalMilliseconds;
    }

    public void Reset() => milliseconds.Clear();

    /// <summary>Milliseconds per run by stage, with "other" for what no stage covers.</summary>
    public IReadOnlyDictionary<string, double> PerRun(int runs)
    {
        var result = milliseconds.Where(p => p.Key != "total" && p.Key != "decoder (all)").ToDictionary(p => p.Key, p => p.Value / runs);
        double decoderAll = milliseconds.GetValueOrDefault("decoder (all)") / runs;
        double decoderParts = result.Where(p => p.Key.StartsWith("decoder", StringComparison.Ordinal)).Sum(p => p.Value);
        result["decoder (rest)"] = Math.Max(0, decoderAll - decoderParts);
        result["other (pad, tokens, norms, upsampling)"] = Math.Max(0, milliseconds.GetValueOrDefault("total") / runs - result.Values.Sum());
        return result;
    }

    public void Dispose()
    {
        foreach (var remove in removers) remove();
    }
}
