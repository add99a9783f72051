using System;
using System.Diagnostics;
using static TorchSharp.torch;

namespace Segmenter.Cli.Benchmarks;

/// <summary>The machine's float32 matrix-product throughput, measured: the best of five 3072×3072 products.</summary>
internal static class MatmulPeak
{
    public static double Measure(int threads)
    {
        set_num_threads(threads);
        const int n = 3072;
        using var a = randn(n, n);
        using var b = randn(n, n);
        mm(a, b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var product = mm(a, b);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
