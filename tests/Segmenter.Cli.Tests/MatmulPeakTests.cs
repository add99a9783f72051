using System;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using Segmenter.Cli.Benchmarks;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>bench's int8 product is the kernel an int8 export's linear layers run on, and it computes the product.</summary>
public sealed class MatmulPeakTests
{
    /// <summary>The operators ONNX Runtime runs for a model once it has optimised it.</summary>
    private static string[] OptimisedOperators(byte[] model, string directory)
    {
        var optimised = Path.Combine(directory, "optimised-" + Guid.NewGuid().ToString("N") + ".onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimised })
        using (new InferenceSession(model, options)) { }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimised)).Graph.Node.Select(n => n.OpType).ToArray();
    }

    [Fact]
    public void The_int8_product_runs_as_an_int8_export_runs_its_linear_layers_and_computes_the_product()
    {
        var directory = Directory.CreateTempSubdirectory("segmenter-int8-peak");
        try
        {
            // The bench's product: one fused DynamicQuantizeMatMul and nothing else.
            const int m = 40, k = 32, n = 24;
            var model = MatmulPeak.Int8MatMulModel(m, k, n);
            Assert.Equal(new[] { "DynamicQuantizeMatMul" }, OptimisedOperators(model.ToByteArray(), directory.FullName));

            // An int8 export's linear layers run on the same operator.
            var spec = Path.Combine(directory.FullName, "tiny.seg");
            File.WriteAllText(spec, "backbone B { layers = 1 width = 32 heads = 2 }\nmodel Int8Tiny { backbone = B patch = 8 image = 32 classes = 3 decoder = linear }\n");
            var file = Path.Combine(directory.FullName, "tiny-int8.onnx");
            var (exit, output, error) = CliTests.Run("export", spec, "--int8", "--out", file);
            Assert.True(exit == 0, error);
            // Its check says where it ran on a CPU whose 16-bit pair sums can saturate (AVX2 without VNNI), and only there.
            bool saturating = System.Runtime.Intrinsics.X86.Avx2.IsSupported && !Segmenter.Runtime.PlatformInfo.HasVnni;
            Assert.Equal(saturating, output.Contains("checked on a CPU without VNNI", StringComparison.Ordinal));
            var exported = OptimisedOperators(File.ReadAllBytes(file), directory.FullName);
            Assert.Equal(5, exported.Count(op => op == "DynamicQuantizeMatMul"));   // qkv, proj, fc1, fc2 and the decoder's head
            Assert.DoesNotContain("MatMulInteger", exported);

            // And it computes (Aq − Az)·W · As/127 in integers, A quantised as DynamicQuantizeLinear does. Without VNNI, ONNX
            // Runtime's u8×s8 kernel adds each pair of products in 16 bits, saturating (AVX2's vpmaddubsw); with VNNI the
            // sums are 32-bit. The result is one of the two, to float rounding.
            var weights = model.Graph.Initializer.Single(t => t.Name == "W").RawData.ToByteArray().Select(b => (sbyte)b).ToArray();
            var random = new Random(3);
            var a = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            using var session = new InferenceSession(model.ToByteArray());
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("A", new DenseTensor<float>(a, new[] { m, k })) });
            var y = results.Single().AsTensor<float>().ToArray();
            float low = Math.Min(0, a.Min()), high = Math.Max(0, a.Max()), scale = (high - low) / 255;
            int zero = (int)Math.Clamp(Math.Round(-low / scale, MidpointRounding.ToEven), 0, 255);
            var quantised = a.Select(v => (int)Math.Clamp(Math.Round(v / scale, MidpointRounding.ToEven) + zero, 0, 255)).ToArray();
            double largest = 0, offExact = 0, offSaturated = 0, offFloat = 0;
            int saturatedPairs = 0;
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    long exact = 0, saturated = 0, weightSum = 0;
                    double product = 0;
                    for (int t = 0; t < k; t += 2)
                    {
                        int pair = quantised[i * k + t] * weights[t * n + j] + quantised[i * k + t + 1] * weights[(t + 1) * n + j];
                        exact += pair;
                        saturated += Math.Clamp(pair, short.MinValue, short.MaxValue);
                        if (pair != Math.Clamp(pair, short.MinValue, short.MaxValue)) saturatedPairs++;
                        weightSum += weights[t * n + j] + weights[(t + 1) * n + j];
                        product += (a[i * k + t] * weights[t * n + j] + a[i * k + t + 1] * weights[(t + 1) * n + j]) / 127.0;
                    }
                    largest = Math.Max(largest, Math.Abs(product));
                    offExact = Math.Max(offExact, Math.Abs((exact - zero * weightSum) * scale / 127.0 - y[i * n + j]));
                    offSaturated = Math.Max(offSaturated, Math.Abs((saturated - zero * weightSum) * scale / 127.0 - y[i * n + j]));
                    offFloat = Math.Max(offFloat, Math.Abs((exact - zero * weightSum) * scale / 127.0 - product));
                }
            }
            Assert.True(largest > 1 && saturatedPairs > 0, $"the products are not trivial ({largest}) and some pairs leave 16 bits ({saturatedPairs})");
            Assert.True(offFloat < 0.02 * largest, $"the integer product is A·W to 8-bit rounding: off by {offFloat} (largest {largest})");
            Assert.True(Math.Min(offExact, offSaturated) < 1e-5 * largest, $"off the 32-bit sums by {offExact}, off the saturated 16-bit pair sums by {offSaturated}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
