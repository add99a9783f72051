using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Segmenter.Runtime;

/// <summary>What <see cref="MklDispatch"/> did to libtorch's matrix-product kernels in this process.</summary>
public enum MklDispatchState
{
    /// <summary>Not tried yet, or nothing to do: not Linux on x86-64, or an Intel processor (MKL already picks by features there).</summary>
    NotApplicable,

    /// <summary>MKL now picks its kernels by the processor's features (AVX-512 where it has it) instead of its vendor.</summary>
    ByFeatures,

    /// <summary>The user asked to keep MKL's own choice (<c>SEGMENTER_MKL_DISPATCH=vendor</c>).</summary>
    KeptByUser,

    /// <summary>libtorch was not loaded, or its MKL was not found where expected: MKL keeps its own choice.</summary>
    NotFound,
}

/// <summary>
/// libtorch's float32 matrix products run in Intel MKL, linked into <c>libtorch_cpu.so</c>. MKL chooses its kernels by the
/// processor's vendor before its features: on a processor that is not Intel's it never takes its AVX-512 kernels, even where
/// the processor has AVX-512. Measured on this project's development machine (2 cores, AMD EPYC with avx512f): libtorch's best
/// product 156–172 GFLOP/s against ONNX Runtime's 327–370, and 369 once MKL chooses by features. MKL asks one function,
/// <c>mkl_serv_intel_cpu_true</c>, which vendor it runs on; <c>libtorch_cpu.so</c> calls it through its procedure linkage
/// table, and this class points that table's entry at a function that answers "yes", so the rest of MKL's dispatch — which
/// reads the processor's feature flags — picks the kernels the processor can run. It changes nothing on Intel processors,
/// outside Linux on x86-64, or where <c>SEGMENTER_MKL_DISPATCH=vendor</c> is set. It must run after libtorch is loaded and
/// before its first matrix product (MKL keeps its first answer); <see cref="NativeSettings.Apply"/> does that.
/// </summary>
public static class MklDispatch
{
    /// <summary>The environment variable that keeps MKL's own vendor-based choice when set to <c>vendor</c>.</summary>
    public const string EnvironmentVariable = "SEGMENTER_MKL_DISPATCH";

    private const string Library = "libtorch_cpu.so";
    private const string VendorQuery = "mkl_serv_intel_cpu_true";

    /// <summary>What was done in this process.</summary>
    public static MklDispatchState State { get; private set; }

    private static readonly object Gate = new();
    private static bool tried;

    /// <summary>Makes MKL choose by features (see the type's summary); idempotent. Returns the resulting state.</summary>
    public static MklDispatchState Apply()
    {
        lock (Gate)
        {
            if (tried) return State;
            tried = true;
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || IsIntel())
                return State = MklDispatchState.NotApplicable;
            if (string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "vendor", StringComparison.OrdinalIgnoreCase))
                return State = MklDispatchState.KeptByUser;
            try
            {
                _ = TorchSharp.torch.get_num_threads();   // loads libtorch (and its MKL) if nothing has yet
                return State = Redirect() ? MklDispatchState.ByFeatures : MklDispatchState.NotFound;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or NotSupportedException)
            {
                return State = MklDispatchState.NotFound;
            }
        }
    }

    private static bool IsIntel()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        return ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e;   // "Genu" "ineI" "ntel"
    }

    /// <summary>Points libtorch_cpu.so's calls to <see cref="VendorQuery"/> at "return 1" (x86-64: <c>mov eax, 1; ret</c>).</summary>
    private static bool Redirect() =>
        LibraryLinkage.Redirect(Library, VendorQuery, LibraryLinkage.ExecutablePage(new byte[] { 0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3 }));
}
