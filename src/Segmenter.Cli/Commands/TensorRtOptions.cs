using System;
using System.CommandLine;
using System.Linq;
using Segmenter.Export;

namespace Segmenter.Cli.Commands;

/// <summary>TensorRT's settings, for <c>--provider tensorrt</c> (predict, eval --onnx, bench) and for a Triton entry (export).</summary>
internal sealed class TensorRtOptions
{
    public Option<bool> Fp16 { get; } = new("--trt-fp16") { Description = "TensorRT: float16 engines (LayerNorm kept in float32)." };

    public Option<string?> Cache { get; } = new("--trt-cache") { Description = "TensorRT: the folder for engine and timing caches, reused across runs (default /tmp/segmenter-trt-cache)." };

    public Option<string?> Profile { get; } = new("--trt-profile")
    {
        Description = "TensorRT: the shape profile min,opt,max as BxHxW (e.g. 1x512x512,4x512x512,8x1024x1024). Without one, every new input shape builds a new engine.",
    };

    public void AddTo(Command command)
    {
        command.Add(Fp16);
        command.Add(Cache);
        command.Add(Profile);
    }

    /// <summary>True if any TensorRT option was given.</summary>
    public bool Any(ParseResult result) => result.GetValue(Fp16) || result.GetValue(Cache) is not null || result.GetValue(Profile) is not null;

    /// <summary>The settings the options describe.</summary>
    public TensorRtSettings Read(ParseResult result)
    {
        var settings = new TensorRtSettings { Float16 = result.GetValue(Fp16) };
        if (result.GetValue(Cache) is { } cache) settings = settings with { CachePath = cache };
        if (result.GetValue(Profile) is { } profile)
        {
            var shapes = profile.Split(',').Select(p => Format.ParseBatchShape(p, "--trt-profile")).ToList();
            if (shapes.Count != 3) throw new ArgumentException($"--trt-profile '{profile}': give three shapes min,opt,max as BxHxW, e.g. 1x512x512,4x512x512,8x1024x1024");
            settings = settings with { Profile = (shapes[0], shapes[1], shapes[2]) };
            TritonRepository.CheckProfile(settings.Profile.Value);
        }
        return settings;
    }
}
