using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace Segmenter.Runtime;

/// <summary>
/// Settings the runtime gives libtorch itself, before its first allocation. On Linux, large tensors get transparent huge
/// pages (libtorch's <c>THP_MEM_ALLOC_ENABLE</c>): without them, every fresh tensor of tens or hundreds of megabytes — the
/// 150 class maps of a 512² image are 157 MB — is mapped anew and faulted in 4 KB at a time when first written. Measured
/// on this project's development machine (2 cores, AMD EPYC, Release): <c>zeros(1, 150, 512, 512)</c> 279 ms without, 29 ms
/// with; Seg-T/16 inference at 512² 550 ms without, 243 ms with (<c>segmenter bench SegT16</c>). A value the user set is kept.
/// Freed memory is kept for the next allocation instead of being handed back to the system (see <see cref="RetainFreedMemory"/>).
/// These two are set when this assembly loads. <see cref="Apply"/> then loads libtorch and lets its MKL choose kernels by the
/// processor's features (<see cref="MklDispatch"/>), and points its 16-lane exponential at the project's (<see cref="TorchExp"/>).
/// </summary>
public static class NativeSettings
{
    private static int applied;

    /// <summary>
    /// Applies the settings and lets MKL choose by the processor's features, which loads libtorch (about half a second);
    /// idempotent. A model's constructor calls it; code that makes TorchSharp tensors before it makes any model may call it
    /// first (libtorch reads its allocation setting once, at its first allocation, and MKL keeps its first kernel choice).
    /// </summary>
    public static void Apply()
    {
        ApplyProcessSettings();
        MklDispatch.Apply();   // after the allocation setting, before any matrix product
        TorchExp.Apply();
    }

    /// <summary>The settings that need no libtorch: they run by themselves when this assembly loads.</summary>
    private static void ApplyProcessSettings()
    {
        if (Interlocked.Exchange(ref applied, 1) == 1 || !OperatingSystem.IsLinux()) return;
        try
        {
            _ = SetEnvironment("THP_MEM_ALLOC_ENABLE", "1", overwrite: 0);   // native getenv sees it (.NET's own environment would not)
            if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null && Environment.GetEnvironmentVariable("MALLOC_MMAP_MAX_") is null)
                RetainFreedMemory();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (or no libc by that name): libtorch keeps its default allocation.
        }
    }

    /// <summary>
    /// Native allocations are served from glibc's heaps and what is freed stays there for the next one, as a caching
    /// allocator would keep it: libtorch allocates every tensor anew, and glibc otherwise maps each one over 32 MB (a batch's
    /// class maps, their gradients) freshly and hands it back when freed, so the kernel zeroes those pages again at every
    /// step. Measured on this project's development machine (2 cores, AMD EPYC, Release, side by side): a Seg-T/16 training
    /// step at batch 2 and 512² 1030 → 813 ms, Seg-B/16 inference 1006–1012 → 755–812 ms with peak memory within 5 %
    /// (<c>segmenter bench SegT16 SegB16</c>). Since each transformer block frees its intermediates when it returns, it matters
    /// more: training steps at batch 2 took 2737 → 684 ms (Seg-T/16) and 9126 → 4934 ms (Seg-B/16) side by side, for a higher
    /// peak (1684 → 2997 MB and 3535 → 4703 MB): what is freed is kept. Applied when this assembly loads unless the user tuned glibc's allocator
    /// (<c>GLIBC_TUNABLES</c>, <c>MALLOC_MMAP_MAX_</c>); a server undoes it with <see cref="MapLargeAllocations"/>.
    /// </summary>
    public static bool RetainFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MemoryOption(MmapMax, 0) == 1 && MemoryOption(TrimThreshold, int.MaxValue) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// For a long-running process (a server): every native allocation of <paramref name="bytes"/> or more is mapped on its own
    /// and returned to the system when freed. glibc otherwise serves allocations up to 32 MB from its heaps once it has freed
    /// one that size, and a server's stream of request-sized buffers (3 MB for a 512² image) fragments them: measured with
    /// <c>segmenter serve</c> at 8 clients, resident memory grew by about 10 MB/s without it and stayed within 3 % with 1 MB.
    /// Returns false where the C library does not offer it.
    /// </summary>
    public static bool MapLargeAllocations(int bytes = 1 << 20)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MemoryOption(MmapMax, DefaultMmapMax) == 1 && MemoryOption(TrimThreshold, DefaultTrimThreshold) == 1 && MemoryOption(MmapThreshold, bytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Hands the memory freed in glibc's heaps back to the system (<c>malloc_trim</c>), which <see cref="RetainFreedMemory"/>
    /// otherwise keeps for later allocations. For after a one-off peak that later work will not repeat: ONNX Runtime parses
    /// a model file into memory, copies its weights out and frees the parsed copy, which then stayed resident (Seg-B/16: 340
    /// MB of a 2.6 GB run at 1024²). Returns false where the C library does not offer it.
    /// </summary>
    public static bool ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            _ = Trim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int Trim(nuint pad);

    private const int TrimThreshold = -1, MmapThreshold = -3, MmapMax = -4;   // glibc's M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX
    private const int DefaultTrimThreshold = 128 * 1024, DefaultMmapMax = 65536;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MemoryOption(int parameter, int value);

#pragma warning disable CA2255 // The settings must precede libtorch's first allocation, whichever Segmenter type is used first.
    [ModuleInitializer]
    internal static void OnLoad() => ApplyProcessSettings();
#pragma warning restore CA2255

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnvironment(string name, string value, int overwrite);
}
