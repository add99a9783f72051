using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>Parses device names: <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (CUDA when available, else CPU).</summary>
public static class Devices
{
    /// <summary>The device every tool uses unless told otherwise: <c>auto</c>, a GPU where one is available.</summary>
    public const string Default = "auto";

    /// <summary>The device named by <paramref name="name"/>; a clear error if CUDA is asked for and not available.</summary>
    public static Device Parse(string name)
    {
        var text = (name ?? "").Trim().ToLowerInvariant();
        if (text is "" or "auto") return torch.cuda.is_available() ? CUDA : CPU;
        if (text == "cpu") return CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException(
                    $"device '{name}': CUDA is not available. This build uses the CPU TorchSharp packages, or no NVIDIA driver was found; " +
                    "build with -p:SegmenterTorchBackend=cuda on a machine with CUDA 12 drivers, or use --device cpu");
            return torch.device(text);
        }
        throw new ArgumentException($"unknown device '{name}': use cpu, cuda, cuda:N or auto");
    }
}
