using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Segmenter.Runtime;

/// <summary>What <see cref="TorchExp"/> did to libtorch's 16-lane exponential in this process.</summary>
public enum TorchExpState
{
    /// <summary>Not tried yet, or nothing to do: not Linux on x86-64, or no AVX-512 (libtorch then never calls that function).</summary>
    NotApplicable,

    /// <summary>libtorch's calls to its 16-lane exponential run the project's own (<c>Native/expf16.S</c>).</summary>
    Replaced,

    /// <summary>The user asked to keep libtorch's own (<c>SEGMENTER_TORCH_EXP=sleef</c>).</summary>
    KeptByUser,

    /// <summary>libtorch was not loaded, or does not call the function through its linkage table: it keeps its own.</summary>
    NotFound,
}

/// <summary>
/// libtorch's AVX-512 kernels — the fused attention's backward above all — take exponentials 16 lanes at a time by calling
/// SLEEF's <c>Sleef_expf16_u10</c>, linked into <c>libtorch_cpu.so</c>, through its procedure linkage table. On this project's
/// development machine (2 cores, AMD EPYC with avx512f, a virtual machine) each such call took 400–600 cycles instead of about
/// 25 whenever libtorch's code pages came from a fresh copy of the library (as after a build copies it into <c>bin/</c>):
/// measured per call with rdtsc in the running process, while the same instructions at another address took 33 cycles and
/// SLEEF's 8-lane AVX2 function 15. A Seg-T/16 training step at batch 2 and 512² then took 1100–1400 ms instead of 570–660
/// (<c>segmenter bench SegT16 --train --batch 2</c>), a third of it in that one function. Which runs were slow depended on
/// the state of the page cache, not on the process: dropping the caches made four of four runs fast, copying the library
/// anew four of four slow. This class points libtorch's calls at the project's own 16-lane exponential, in a page of its
/// own: within 1 ulp of the exact result for normal results (tested), subnormal results rounded, 0 below −104, +inf above
/// 88.72, NaN kept — the same contract as SLEEF's (1.0 ulp). It does nothing without AVX-512 (libtorch then calls the 8-lane
/// AVX2 function instead), outside Linux on x86-64, or where <c>SEGMENTER_TORCH_EXP=sleef</c> is set.
/// <see cref="NativeSettings.Apply"/> runs it after libtorch loads.
/// </summary>
public static class TorchExp
{
    /// <summary>The environment variable that keeps libtorch's own exponential when set to <c>sleef</c>.</summary>
    public const string EnvironmentVariable = "SEGMENTER_TORCH_EXP";

    private const string Library = "libtorch_cpu.so";
    private const string Symbol = "Sleef_expf16_u10";

    /// <summary>Offset of <c>exp_map(const float* in, float* out, long count)</c> in <see cref="Code"/> (for tests).</summary>
    private const int MapOffset = 0xE0;

    /// <summary>Native/expf16.S assembled: <c>expf16</c> (x in zmm0, exp(x) in zmm0) at 0, <c>exp_map</c> at <see cref="MapOffset"/>, then the constants.</summary>
    private static readonly byte[] Code =
    {
        0xF3, 0x0F, 0x1E, 0xFA, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x0D, 0xFE, 0x00, 0x00, 0x00, 0x62, 0xF1,
        0x74, 0x48, 0x5F, 0xC0, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x0D, 0xF2, 0x00, 0x00, 0x00, 0x62, 0xF1,
        0x74, 0x48, 0x5D, 0xC0, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x0D, 0xE6, 0x00, 0x00, 0x00, 0x62, 0xF1,
        0x7C, 0x48, 0x59, 0xC9, 0x62, 0xF3, 0x7D, 0x48, 0x08, 0xC9, 0x08, 0x62, 0xF2, 0x7D, 0x48, 0x18,
        0x15, 0xD3, 0x00, 0x00, 0x00, 0x62, 0xF2, 0x75, 0x48, 0xBC, 0xC2, 0x62, 0xF2, 0x7D, 0x48, 0x18,
        0x15, 0xC7, 0x00, 0x00, 0x00, 0x62, 0xF2, 0x75, 0x48, 0xBC, 0xC2, 0x62, 0xF2, 0x7D, 0x48, 0x18,
        0x15, 0xBB, 0x00, 0x00, 0x00, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x1D, 0xB5, 0x00, 0x00, 0x00, 0x62,
        0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x1D, 0xA9, 0x00, 0x00, 0x00, 0x62,
        0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x1D, 0x9D, 0x00, 0x00, 0x00, 0x62,
        0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x1D, 0x91, 0x00, 0x00, 0x00, 0x62,
        0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x1D, 0x85, 0x00, 0x00, 0x00, 0x62,
        0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x7D, 0x48, 0x18, 0x1D, 0x79, 0x00, 0x00, 0x00, 0x62,
        0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x7D, 0x48, 0xA8, 0xD3, 0x62, 0xF2, 0x6D, 0x48, 0x2C,
        0xC1, 0xC3, 0x66, 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x1F, 0x00,
        0xF3, 0x0F, 0x1E, 0xFA, 0x48, 0x85, 0xD2, 0x7E, 0x1F, 0x62, 0xF1, 0x7C, 0x48, 0x10, 0x07, 0xE8,
        0x0C, 0xFF, 0xFF, 0xFF, 0x62, 0xF1, 0x7C, 0x48, 0x11, 0x06, 0x48, 0x83, 0xC7, 0x40, 0x48, 0x83,
        0xC6, 0x40, 0x48, 0x83, 0xEA, 0x10, 0x7F, 0xE1, 0xC5, 0xF8, 0x77, 0xC3, 0x00, 0x00, 0xD0, 0xC2,
        0x00, 0x00, 0xB2, 0x42, 0x3B, 0xAA, 0xB8, 0x3F, 0x00, 0x80, 0x31, 0x3F, 0x83, 0x80, 0x5E, 0xB9,
        0x01, 0x0D, 0x50, 0x39, 0x61, 0x0B, 0xB6, 0x3A, 0x89, 0x88, 0x08, 0x3C, 0xAB, 0xAA, 0x2A, 0x3D,
        0xAB, 0xAA, 0x2A, 0x3E, 0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x80, 0x3F,
    };

    /// <summary>What was done in this process.</summary>
    public static TorchExpState State { get; private set; }

    private static readonly object Gate = new();
    private static bool tried;
    private static IntPtr page;

    /// <summary>Points libtorch's 16-lane exponential at the project's (see the type's summary); idempotent. Returns the resulting state.</summary>
    public static TorchExpState Apply()
    {
        lock (Gate)
        {
            if (tried) return State;
            tried = true;
            if (!IsApplicable) return State = TorchExpState.NotApplicable;
            if (string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "sleef", StringComparison.OrdinalIgnoreCase))
                return State = TorchExpState.KeptByUser;
            try
            {
                _ = TorchSharp.torch.get_num_threads();   // loads libtorch if nothing has yet
                var code = Page();
                return State = code != IntPtr.Zero && LibraryLinkage.Redirect(Library, Symbol, code) ? TorchExpState.Replaced : TorchExpState.NotFound;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or NotSupportedException)
            {
                return State = TorchExpState.NotFound;
            }
        }
    }

    /// <summary>Whether this process can run the project's exponential: Linux on x86-64 with AVX-512F.</summary>
    public static bool IsApplicable => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64 && Avx512F.IsSupported;

    /// <summary>
    /// exp of each of <paramref name="input"/>'s values into <paramref name="output"/> with the project's 16-lane exponential
    /// (the code libtorch's calls run once <see cref="Apply"/> replaced them); lengths a multiple of 16. Needs <see cref="IsApplicable"/>.
    /// </summary>
    public static unsafe void Map(ReadOnlySpan<float> input, Span<float> output)
    {
        if (!IsApplicable) throw new PlatformNotSupportedException("the project's exponential needs Linux on x86-64 with AVX-512F");
        if (input.Length % 16 != 0 || output.Length != input.Length) throw new ArgumentException("input and output must have the same length, a multiple of 16");
        IntPtr code;
        lock (Gate) code = Page();
        if (code == IntPtr.Zero) throw new InvalidOperationException("could not make an executable page for the exponential");
        var map = (delegate* unmanaged<float*, float*, long, void>)(code + MapOffset);
        fixed (float* from = input)
        fixed (float* to = output)
            map(from, to, input.Length);
    }

    private static IntPtr Page() => page != IntPtr.Zero ? page : page = LibraryLinkage.ExecutablePage(Code);
}
