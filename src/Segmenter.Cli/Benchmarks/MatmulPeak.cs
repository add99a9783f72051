using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// The machine's float32 matrix-product peak, as the best rate that any kernel available to the project reaches:
/// libtorch's (MKL / oneDNN) and ONNX Runtime's (MLAS), each at square products and at a ViT-B MLP layer's shape.
/// Every peakFraction is measured against it.
/// </summary>
internal static class MatmulPeak
{
    /// <summary>One kernel at one shape: [M, K] · [K, N].</summary>
    public sealed record Measurement(string Kernel, int M, int K, int N, double Gflops)
    {
        public override string ToString() => $"{Kernel} {M}×{K}·{K}×{N}";
    }

    /// <summary>The peak, the measurement that set it, and every measurement.</summary>
    public sealed record Result(double Gflops, string SetBy, IReadOnlyList<Measurement> All);

    /// <summary>Square products and the shape of a ViT-B/16 MLP layer at 1024² (4096 tokens).</summary>
    private static readonly (int M, int K, int N)[] Shapes = { (2048, 2048, 2048), (3072, 3072, 3072), (4096, 768, 3072) };

    private const int Repeats = 3;

    public static Result Measure(int threads)
    {
        Segmenter.Runtime.NativeSettings.Apply();   // libtorch's kernels as the models get them (the CLI has applied it already)
        set_num_threads(threads);
        var all = new List<Measurement>();
        foreach (var (m, k, n) in Shapes) all.Add(new Measurement("libtorch", m, k, n, Torch(m, k, n)));
        foreach (var (m, k, n) in Shapes) all.Add(new Measurement("onnxruntime", m, k, n, OnnxRuntime(m, k, n, threads)));
        var best = all.MaxBy(x => x.Gflops)!;
        return new Result(best.Gflops, best.ToString(), all);
    }

    /// <summary>The best of two measurements (taken at different times), with every product of both.</summary>
    public static Result Combine(Result first, Result second)
    {
        var all = first.All.Concat(second.All).ToArray();
        var best = all.MaxBy(x => x.Gflops)!;
        return new Result(best.Gflops, best.ToString(), all);
    }

    private static double Torch(int m, int k, int n)
    {
        using var a = randn(m, k);
        using var b = randn(k, n);
        mm(a, b).Dispose();   // warm-up
        return Best(m, k, n, () => mm(a, b).Dispose());
    }

    private static double OnnxRuntime(int m, int k, int n, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(MatMulModel(m, k, n).ToByteArray(), options);
        var random = new Random(1);
        var left = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble()).ToArray();
        var right = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble()).ToArray();
        using var a = OrtValue.CreateTensorValueFromMemory(left, new long[] { m, k });
        using var b = OrtValue.CreateTensorValueFromMemory(right, new long[] { k, n });
        using var output = OrtValue.CreateTensorValueFromMemory(new float[m * n], new long[] { m, n });
        using var run = new RunOptions();
        var inputs = new[] { "A", "B" };
        var outputs = new[] { "Y" };
        void Once() => session.Run(run, inputs, new[] { a, b }, outputs, new[] { output });
        Once();   // warm-up
        return Best(m, k, n, Once);
    }

    /// <summary>A graph of one MatMul: Y = A · B.</summary>
    private static ModelProto MatMulModel(int m, int k, int n)
    {
        static ValueInfoProto Value(string name, long rows, long columns)
        {
            var shape = new TensorShapeProto();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = rows });
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = columns });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } } };
        }
        var graph = new GraphProto { Name = "matmul" };
        graph.Input.Add(Value("A", m, k));
        graph.Input.Add(Value("B", k, n));
        graph.Output.Add(Value("Y", m, n));
        var node = new NodeProto { OpType = "MatMul", Name = "MatMul" };
        node.Input.Add("A");
        node.Input.Add("B");
        node.Output.Add("Y");
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "segmenter bench" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static double Best(int m, int k, int n, Action product)
    {
        double best = double.MaxValue;
        for (int i = 0; i < Repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            product();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * m * k * n / best / 1e9;
    }
}
