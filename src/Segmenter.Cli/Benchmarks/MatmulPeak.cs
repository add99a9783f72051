using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// The machine's float32 matrix-product peak, as the best rate that any kernel available to the project reaches:
/// libtorch's (MKL / oneDNN) and ONNX Runtime's (MLAS; both with the right-hand side an input and with it a weight
/// packed once, as in a model), each at square products and at a ViT-B MLP layer's shape.
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

    /// <summary>A ViT-B MLP layer at 512² (1025 tokens · 768 → 3072): the int8 comparison's shape, as the models run it.</summary>
    private static readonly (int M, int K, int N) Int8Shape = (1025, 768, 3072);

    private const int Repeats = 3;

    public static Result Measure(int threads)
    {
        Segmenter.Runtime.NativeSettings.Apply();   // libtorch's kernels as the models get them (the CLI has applied it already)
        set_num_threads(threads);
        var all = new List<Measurement>();
        foreach (var (m, k, n) in Shapes) all.Add(new Measurement("libtorch", m, k, n, Torch(m, k, n)));
        foreach (var (m, k, n) in Shapes) all.Add(new Measurement("onnxruntime", m, k, n, OnnxRuntime(m, k, n, threads)));
        foreach (var (m, k, n) in Shapes) all.Add(new Measurement("onnxruntime (packed weights)", m, k, n, OnnxRuntime(m, k, n, threads, MatMulModel(m, k, n, weightInside: true))));
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

    /// <summary>
    /// ONNX Runtime's int8 product as the int8 export writes each linear layer (DynamicQuantizeLinear → MatMulInteger →
    /// Cast → Mul, which ONNX Runtime fuses into one DynamicQuantizeMatMul), side by side with its float32 product at the
    /// same shape, its weight packed as in a model: how much faster this CPU's 8-bit products are than its float32 ones,
    /// the most an int8 model's linear layers can gain here (VNNI adds four 8-bit products into a 32-bit sum in one
    /// instruction; without it the gain depends on the core, and on some it is none).
    /// </summary>
    public sealed record Int8Result(double Gops, double Float32Gflops, string Shape)
    {
        /// <summary>The int8 product's rate over the float32 product's at the same shape.</summary>
        public double Speedup => Gops / Float32Gflops;

        /// <summary>The best of two measurements (taken at different times), each rate on its own.</summary>
        public static Int8Result Combine(Int8Result first, Int8Result second) =>
            new(Math.Max(first.Gops, second.Gops), Math.Max(first.Float32Gflops, second.Float32Gflops), first.Shape);
    }

    /// <summary>The int8 and float32 products at a ViT-B MLP layer's shape at 512² (1025 tokens · 768 → 3072), one after the other.</summary>
    public static Int8Result MeasureInt8(int threads)
    {
        var (m, k, n) = Int8Shape;
        double int8 = OnnxRuntime(m, k, n, threads, Int8MatMulModel(m, k, n));
        double float32 = OnnxRuntime(m, k, n, threads, MatMulModel(m, k, n, weightInside: true));
        return new Int8Result(int8, float32, $"{m}×{k}·{k}×{n}");
    }

    private static double Torch(int m, int k, int n)
    {
        using var a = randn(m, k);
        using var b = randn(k, n);
        mm(a, b).Dispose();   // warm-up
        return Best(m, k, n, () => mm(a, b).Dispose());
    }

    /// <summary>A model's run time as a rate: 2·m·k·n operations per run; B, where the model takes it, is an input, else a weight inside it.</summary>
    private static double OnnxRuntime(int m, int k, int n, int threads, ModelProto? model = null)
    {
        model ??= MatMulModel(m, k, n);
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        var random = new Random(1);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)random.NextDouble()).ToArray();
        using var a = OrtValue.CreateTensorValueFromMemory(Values(m * k), new long[] { m, k });
        bool takesB = model.Graph.Input.Any(i => i.Name == "B");   // else B is a weight inside the model
        using var b = takesB ? OrtValue.CreateTensorValueFromMemory(Values(k * n), new long[] { k, n }) : null;
        using var output = OrtValue.CreateTensorValueFromMemory(new float[m * n], new long[] { m, n });
        using var run = new RunOptions();
        var inputs = takesB ? new[] { "A", "B" } : new[] { "A" };
        var values = takesB ? new[] { a, b! } : new[] { a };
        var outputs = new[] { "Y" };
        void Once() => session.Run(run, inputs, values, outputs, new[] { output });
        Once();   // warm-up
        return Best(m, k, n, Once);
    }

    /// <summary>A graph of one MatMul: Y = A · B; B an input, or with <paramref name="weightInside"/> a weight in the graph (which ONNX Runtime packs once, as it does a model's).</summary>
    internal static ModelProto MatMulModel(int m, int k, int n, bool weightInside = false)
    {
        var graph = new GraphProto { Name = "matmul" };
        graph.Input.Add(Value("A", m, k));
        if (weightInside)
        {
            var random = new Random(2);
            var weights = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble()).ToArray();
            graph.Initializer.Add(Initializer("B", DataType.Float, ByteString.CopyFrom(MemoryMarshal.AsBytes(weights.AsSpan())), k, n));
        }
        else graph.Input.Add(Value("B", k, n));
        graph.Output.Add(Value("Y", m, n));
        graph.Node.Add(Node("MatMul", "Y", "A", "B"));
        return Model(graph);
    }

    /// <summary>
    /// One linear layer as the int8 export writes it: A quantised at run time (uint8, a scale and zero point per tensor),
    /// a weight of int8 [k, n] with zero points 0 and a scale per output column (here 1/127), Y = (Aq − Az)·W · (As · ws).
    /// </summary>
    internal static ModelProto Int8MatMulModel(int m, int k, int n)
    {
        var graph = new GraphProto { Name = "int8 matmul" };
        graph.Input.Add(Value("A", m, k));
        graph.Output.Add(Value("Y", m, n));
        // Weights as the export quantises a trained layer's: normally distributed, the largest at ±127.
        var random = new Random(2);
        var normal = Enumerable.Range(0, k * n).Select(_ => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())).ToArray();
        double largest = normal.Max(Math.Abs);
        var weights = normal.Select(w => (byte)(sbyte)Math.Round(w / largest * 127)).ToArray();
        graph.Initializer.Add(Initializer("W", DataType.Int8, ByteString.CopyFrom(weights), k, n));
        graph.Initializer.Add(Initializer("Wz", DataType.Int8, ByteString.CopyFrom(new byte[n]), n));
        graph.Initializer.Add(Initializer("Ws", DataType.Float, ByteString.CopyFrom(MemoryMarshal.AsBytes(Enumerable.Repeat(1f / 127, n).ToArray().AsSpan())), n));
        var quantise = Node("DynamicQuantizeLinear", "Aq", "A");
        quantise.Output.Add("As");
        quantise.Output.Add("Az");
        graph.Node.Add(quantise);
        graph.Node.Add(Node("MatMulInteger", "P", "Aq", "W", "Az", "Wz"));
        var cast = Node("Cast", "Pf", "P");
        cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)DataType.Float });
        graph.Node.Add(cast);
        graph.Node.Add(Node("Mul", "S", "As", "Ws"));
        graph.Node.Add(Node("Mul", "Y", "Pf", "S"));
        return Model(graph);
    }

    private static ValueInfoProto Value(string name, long rows, long columns)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = rows });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = columns });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } } };
    }

    private static TensorProto Initializer(string name, DataType type, ByteString data, params long[] dims)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type, RawData = data };
        proto.Dims.AddRange(dims);
        return proto;
    }

    private static NodeProto Node(string operatorType, string output, params string[] inputs)
    {
        var node = new NodeProto { OpType = operatorType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static ModelProto Model(GraphProto graph)
    {
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
