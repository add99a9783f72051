using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>The process-wide settings the runtime gives libtorch: MKL's kernel choice and glibc's handling of freed memory.</summary>
public sealed class NativeSettingsTests
{
    [Fact]
    public void Mkl_chooses_by_features_wherever_it_would_choose_by_vendor()
    {
        NativeSettings.Apply();
        var intel = X86Base.IsSupported && X86Base.CpuId(0, 0) is var (_, ebx, _, _) && ebx == 0x756e6547;
        var applicable = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64 && !intel;
        var kept = string.Equals(Environment.GetEnvironmentVariable(MklDispatch.EnvironmentVariable), "vendor", StringComparison.OrdinalIgnoreCase);
        var expected = !applicable ? MklDispatchState.NotApplicable : kept ? MklDispatchState.KeptByUser : MklDispatchState.ByFeatures;
        Assert.Equal(expected, MklDispatch.State);
        Assert.Equal(expected, MklDispatch.Apply());   // idempotent
    }

    [Theory]
    [InlineData(300, 200, 500)]      // MKL's blocked kernels
    [InlineData(1025, 192, 576)]     // a Seg-T/16 qkv projection
    [InlineData(7, 3, 5)]            // its small-matrix path
    public void Float32_products_equal_a_double_precision_product_whichever_kernels_run(int m, int k, int n)
    {
        NativeSettings.Apply();
        var generator = new Generator(17);
        using var a = randn(new long[] { m, k }, generator: generator);
        using var b = randn(new long[] { k, n }, generator: generator);
        using var product = a.mm(b);
        using var exact = a.to(float64).mm(b.to(float64));
        double error = (product.to(float64) - exact).abs().max().item<double>();
        double scale = exact.abs().max().item<double>();
        Assert.True(error <= 1e-5 * scale * Math.Sqrt(k), $"largest error {error} against products up to {scale}");
        using var linear = nn.functional.linear(a, b.t().contiguous());
        Assert.Equal(0.0, (linear - product).abs().max().item<float>(), 4);
    }

    [Fact]
    public void Freed_memory_settings_are_glibc_options_that_can_be_switched_back_and_forth()
    {
        if (!OperatingSystem.IsLinux()) return;   // glibc's mallopt: elsewhere both say false and change nothing
        Assert.True(NativeSettings.MapLargeAllocations());
        using (var mapped = zeros(64, 1024, 1024)) Assert.Equal(0f, mapped.sum().item<float>());
        Assert.True(NativeSettings.RetainFreedMemory());
        using (var kept = ones(64, 1024, 1024)) Assert.Equal(64f * 1024 * 1024, kept.sum().item<float>());
        using var again = zeros(64, 1024, 1024);   // served from the freed block: still zeroed as asked
        Assert.Equal(0f, again.abs().sum().item<float>());
    }
}
