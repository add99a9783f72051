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

    /// <summary>Finds the procedure-linkage entry of <see cref="VendorQuery"/> in libtorch_cpu.so and points it at "return 1".</summary>
    private static bool Redirect()
    {
        var handle = Open(Library, RtldLazy | RtldNoLoad);
        if (handle == IntPtr.Zero) return false;
        try
        {
            if (Info(handle, RtldDiLinkMap, out var linkMap) != 0 || linkMap == IntPtr.Zero) return false;
            var slot = FindJumpSlot(linkMap, VendorQuery);
            if (slot == IntPtr.Zero) return false;
            var answer = ReturnOne();
            if (answer == IntPtr.Zero) return false;
            var page = (nint)slot & ~(nint)(PageSize - 1);
            if (Protect(page, PageSize, ProtRead | ProtWrite) != 0) return false;   // .got.plt is writable already unless bound at load (full RELRO)
            Marshal.WriteIntPtr(slot, answer);
            return true;
        }
        finally
        {
            _ = Close(handle);
        }
    }

    /// <summary>The address of the global-offset-table slot through which the library calls <paramref name="symbol"/>, or zero.</summary>
    private static IntPtr FindJumpSlot(IntPtr linkMap, string symbol)
    {
        var bias = Marshal.ReadIntPtr(linkMap);                    // link_map.l_addr
        var dynamic = Marshal.ReadIntPtr(linkMap, 2 * IntPtr.Size); // link_map.l_ld
        long relocations = 0, relocationBytes = 0, symbols = 0, strings = 0, kind = 0;
        for (var entry = dynamic; ; entry += 16)
        {
            var tag = Marshal.ReadInt64(entry);
            if (tag == DtNull) break;
            var value = Marshal.ReadInt64(entry, 8);
            switch (tag)
            {
                case DtJmpRel: relocations = value; break;
                case DtPltRelSize: relocationBytes = value; break;
                case DtSymTab: symbols = value; break;
                case DtStrTab: strings = value; break;
                case DtPltRel: kind = value; break;
            }
        }
        if (relocations == 0 || relocationBytes == 0 || symbols == 0 || strings == 0 || kind != DtRela) return IntPtr.Zero;
        // glibc rewrites these entries to addresses on x86-64; a loader that leaves them as offsets needs the bias added.
        IntPtr Absolute(long address) => address < (long)bias ? bias + (nint)address : (nint)address;
        var table = Absolute(relocations);
        var symbolTable = Absolute(symbols);
        var stringTable = Absolute(strings);
        for (long offset = 0; offset + RelaSize <= relocationBytes; offset += RelaSize)
        {
            var rela = table + (nint)offset;
            var info = Marshal.ReadInt64(rela, 8);
            if ((info & 0xffffffff) != RX8664JumpSlot) continue;
            var sym = symbolTable + (nint)((info >>> 32) * SymSize);
            var name = Marshal.PtrToStringUTF8(stringTable + Marshal.ReadInt32(sym));
            if (name == symbol) return bias + (nint)Marshal.ReadInt64(rela);
        }
        return IntPtr.Zero;
    }

    /// <summary>A function of no arguments that returns 1 (x86-64: <c>mov eax, 1; ret</c>), in a page of its own.</summary>
    private static IntPtr ReturnOne()
    {
        var page = Map(IntPtr.Zero, PageSize, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == IntPtr.Zero || page == new IntPtr(-1)) return IntPtr.Zero;
        Marshal.Copy(new byte[] { 0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3 }, 0, page, 6);
        return Protect(page, PageSize, ProtRead | ProtExec) == 0 ? page : IntPtr.Zero;
    }

    private const int PageSize = 4096;
    private const int RtldLazy = 0x1, RtldNoLoad = 0x4, RtldDiLinkMap = 2;
    private const int ProtRead = 0x1, ProtWrite = 0x2, ProtExec = 0x4, MapPrivate = 0x2, MapAnonymous = 0x20;
    private const long DtNull = 0, DtPltRelSize = 2, DtStrTab = 5, DtSymTab = 6, DtRela = 7, DtPltRel = 20, DtJmpRel = 23;
    private const long RX8664JumpSlot = 7, RelaSize = 24, SymSize = 24;

    [DllImport("libdl.so.2", EntryPoint = "dlopen")]
    private static extern IntPtr Open(string file, int mode);

    [DllImport("libdl.so.2", EntryPoint = "dlclose")]
    private static extern int Close(IntPtr handle);

    [DllImport("libdl.so.2", EntryPoint = "dlinfo")]
    private static extern int Info(IntPtr handle, int request, out IntPtr result);

    [DllImport("libc", EntryPoint = "mmap")]
    private static extern IntPtr Map(IntPtr address, nint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "mprotect")]
    private static extern int Protect(nint address, nint length, int protection);
}
