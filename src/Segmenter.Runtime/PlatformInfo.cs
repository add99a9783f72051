using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// What a run or a measurement ran on: the processor and its vector features, the thread count, and the versions
/// of this project, TorchSharp and libtorch. Run records and benchmarks report it with every figure.
/// </summary>
public static class PlatformInfo
{
    /// <summary>The vector features that decide which kernels run (as /proc/cpuinfo names them).</summary>
    private static readonly string[] Features = { "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8" };

    /// <summary>The processor's model name (or its architecture where the name cannot be read).</summary>
    public static string Processor => CpuInfo("model name") ?? RuntimeInformation.ProcessArchitecture.ToString();

    /// <summary>The processor's vector features among those that matter to the kernels (avx2, avx512f, avx512_vnni, avx512_bf16, amx_*).</summary>
    public static IReadOnlyList<string> VectorFeatures
    {
        get
        {
            var flags = (CpuInfo("flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            if (flags.Count == 0)
            {
                if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) flags.Add("avx2");
                if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) flags.Add("avx512f");
            }
            return Features.Where(flags.Contains).ToList();
        }
    }

    /// <summary>
    /// Whether the processor has VNNI (avx512_vnni or avx_vnni): 8-bit products added four at a time into 32-bit sums.
    /// Without it, x86 int8 kernels add pairs of u8×s8 products in 16 bits (vpmaddubsw), which can saturate.
    /// </summary>
    public static bool HasVnni => VectorFeatures.Any(f => f is "avx512_vnni" or "avx_vnni");

    /// <summary>
    /// The physical cores under the logical processors this process may run on (Linux: each one's package and core id in
    /// /sys/devices/system/cpu): fewer than the logical processors where these are simultaneous threads sharing a core's
    /// vector units, so that two threads cannot compute twice what one does. Null where the topology cannot be read.
    /// </summary>
    public static int? PhysicalCores
    {
        get
        {
            try
            {
                if (!OperatingSystem.IsLinux() || Environment.ProcessorCount > 64) return null;   // beyond 64: more than the affinity mask holds
                using var process = System.Diagnostics.Process.GetCurrentProcess();
                long mask = (long)process.ProcessorAffinity;
                var cores = new HashSet<(string Package, string Core)>();
                for (int cpu = 0; cpu < 64; cpu++)
                {
                    if ((mask >> cpu & 1) == 0) continue;
                    var topology = $"/sys/devices/system/cpu/cpu{cpu}/topology";
                    if (!File.Exists($"{topology}/core_id")) return null;
                    cores.Add((File.ReadAllText($"{topology}/physical_package_id").Trim(), File.ReadAllText($"{topology}/core_id").Trim()));
                }
                return cores.Count == 0 ? null : cores.Count;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>This project's version (the informational version of its assemblies).</summary>
    public static string ProjectVersion => Version(typeof(PlatformInfo).Assembly);

    /// <summary>TorchSharp's version.</summary>
    public static string TorchSharpVersion => Version(typeof(TorchSharp.torch).Assembly);

    /// <summary>The libtorch version this project was built against.</summary>
    public static string LibTorchVersion =>
        typeof(PlatformInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LibTorchVersion")?.Value ?? "unknown";

    /// <summary>The threads libtorch uses for one operation.</summary>
    public static int Threads => get_num_threads();

    /// <summary>The CUDA devices, by name, where CUDA is available.</summary>
    public static IReadOnlyList<string> Gpus => cuda.is_available() ? Enumerable.Range(0, cuda.device_count()).Select(i => $"cuda:{i}").ToList() : Array.Empty<string>();

    private static string Version(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? assembly.GetName().Version?.ToString() ?? "unknown";

    private static string? CpuInfo(string key)
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return null;
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                int colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim() == key) return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
