using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Google.Protobuf;
using Onnx;
using Segmenter.Runtime;
using Segmenter.Spec;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Export;

/// <summary>
/// Builds an ONNX graph for a model: initializers named by state-dict key (taken from the model's
/// weights, in the compute type), nodes named by module scope (<c>/encoder/blocks.3/attn/MatMul</c>),
/// deduplicated constants and explicit opset imports. Generated export code calls its layer helpers
/// (OnnxGraph.Layers.cs) in the order of the model's forward pass.
/// </summary>
public sealed partial class OnnxGraph
{
    private readonly IReadOnlyDictionary<string, Tensor> parameters;
    private readonly GraphProto graph = new();
    private readonly Dictionary<string, OnnxValue> initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxValue> constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> nodeNames = new(StringComparer.Ordinal);
    private readonly List<string> scopes = new();
    private bool usesContribOperators;

    /// <summary>Starts a graph for a model with the given spec and weights.</summary>
    public OnnxGraph(SegmenterSpec spec, IReadOnlyDictionary<string, Tensor> parameters, OnnxExportOptions options)
    {
        options.Validate();
        Spec = spec;
        Options = options;
        this.parameters = parameters;
        graph.Name = spec.Name;
    }

    /// <summary>The model's spec.</summary>
    public SegmenterSpec Spec { get; }

    /// <summary>The export options.</summary>
    public OnnxExportOptions Options { get; }

    /// <summary>The element type of activations and weights (float, or float16 with <see cref="OnnxExportOptions.Float16"/>).</summary>
    public DataType ComputeType => Options.Float16 ? DataType.Float16 : DataType.Float;

    /// <summary>Enters a module scope: node names gain "/name", parameter keys gain "name.". Dispose to leave it.</summary>
    public IDisposable Scope(string name)
    {
        scopes.Add(name);
        return new ScopeExit(scopes);
    }

    /// <summary>The initializer for parameter <paramref name="localName"/> of the current scope (state-dict key = scope path + name).</summary>
    public OnnxValue Parameter(string localName)
    {
        var key = string.Join(".", scopes.Append(localName));
        if (initializers.TryGetValue(key, out var existing)) return existing;
        if (!parameters.TryGetValue(key, out var tensor))
            throw new InvalidOperationException($"the model has no parameter '{key}' (the generated export code and the model disagree)");
        using var converted = tensor.detach().to(Options.Float16 ? ScalarType.Float16 : ScalarType.Float32).cpu().contiguous();
        var proto = new TensorProto { Name = key, DataType = (int)ComputeType, RawData = ByteString.CopyFrom(converted.bytes) };
        proto.Dims.AddRange(tensor.shape);
        graph.Initializer.Add(proto);
        var value = new OnnxValue(key, ComputeType);
        initializers.Add(key, value);
        return value;
    }

    /// <summary>
    /// Parameter <paramref name="localName"/> (a [out, in] weight) quantised for an integer product: int8 [in, out]
    /// (transposed), symmetric, with one float32 scale per output channel (its largest magnitude / 127) and zero points 0.
    /// </summary>
    public (OnnxValue Weights, OnnxValue Scales, OnnxValue ZeroPoints) QuantizedWeight(string localName)
    {
        var key = string.Join(".", scopes.Append(localName));
        if (!parameters.TryGetValue(key, out var tensor) || tensor.dim() != 2)
            throw new InvalidOperationException($"the model has no 2-D parameter '{key}' to quantise");
        using var scope = NewDisposeScope();
        var weight = tensor.detach().to(ScalarType.Float32).cpu();
        var scales = weight.abs().amax(new long[] { 1 }).div(Scalars.Of(127.0)).clamp_min(Scalars.Of(1e-12));      // [out]
        var quantised = weight.div(scales.unsqueeze(1)).round().clamp(Scalars.Of(-127.0), Scalars.Of(127.0)).to(ScalarType.Int8).t().contiguous();   // [in, out]
        var weightProto = new TensorProto { Name = key + ".int8", DataType = (int)DataType.Int8, RawData = ByteString.CopyFrom(quantised.bytes) };
        weightProto.Dims.AddRange(quantised.shape);
        var scaleProto = new TensorProto { Name = key + ".scale", DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(scales.contiguous().bytes) };
        scaleProto.Dims.Add(scales.shape[0]);
        var zeroProto = new TensorProto { Name = key + ".zero_point", DataType = (int)DataType.Int8, RawData = ByteString.CopyFrom(new byte[scales.shape[0]]) };
        zeroProto.Dims.Add(scales.shape[0]);
        graph.Initializer.Add(weightProto);
        graph.Initializer.Add(scaleProto);
        graph.Initializer.Add(zeroProto);
        return (new OnnxValue(weightProto.Name, DataType.Int8), new OnnxValue(scaleProto.Name, DataType.Float), new OnnxValue(zeroProto.Name, DataType.Int8));
    }

    /// <summary>A 1-D int64 constant (deduplicated).</summary>
    public OnnxValue Int64s(params long[] values) =>
        AddConstant(DataType.Int64, new long[] { values.Length }, "i64:" + string.Join(",", values), proto => proto.Int64Data.AddRange(values));

    /// <summary>A 0-D int64 constant (deduplicated).</summary>
    public OnnxValue Int64Scalar(long value) =>
        AddConstant(DataType.Int64, Array.Empty<long>(), "i64s:" + value.ToString(CultureInfo.InvariantCulture), proto => proto.Int64Data.Add(value));

    /// <summary>A 0-D constant of the compute type (deduplicated).</summary>
    public OnnxValue Scalar(double value)
    {
        var key = $"{ComputeType}:{value.ToString("R", CultureInfo.InvariantCulture)}";
        return AddConstant(ComputeType, Array.Empty<long>(), key, proto =>
        {
            if (ComputeType == DataType.Float16)
                proto.RawData = ByteString.CopyFrom(BitConverter.GetBytes((Half)value));
            else
                proto.FloatData.Add((float)value);
        });
    }

    /// <summary>A 0-D float32 constant (deduplicated), for index arithmetic that stays in float32 whatever the compute type.</summary>
    public OnnxValue Float32(double value) =>
        AddConstant(DataType.Float, Array.Empty<long>(), "f32:" + value.ToString("R", CultureInfo.InvariantCulture), proto => proto.FloatData.Add((float)value));

    /// <summary>Adds a node in the current scope and returns its (first) output.</summary>
    public OnnxValue Node(string operatorType, IEnumerable<OnnxValue?> inputs, DataType outputType, params AttributeProto[] attributes) =>
        NodeWithOutputs(operatorType, inputs, 1, outputType, "", attributes)[0];

    /// <summary>Adds a node of ONNX Runtime's com.microsoft domain.</summary>
    public OnnxValue ContribNode(string operatorType, IEnumerable<OnnxValue?> inputs, DataType outputType, params AttributeProto[] attributes)
    {
        usesContribOperators = true;
        return NodeWithOutputs(operatorType, inputs, 1, outputType, "com.microsoft", attributes)[0];
    }

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs. A null input is an omitted optional input.</summary>
    public OnnxValue[] NodeWithOutputs(string operatorType, IEnumerable<OnnxValue?> inputs, int outputCount, DataType outputType, string domain, params AttributeProto[] attributes)
    {
        var path = "/" + string.Join("/", scopes);
        var baseName = (path == "/" ? "" : path) + "/" + operatorType;
        nodeNames.TryGetValue(baseName, out var count);
        nodeNames[baseName] = count + 1;
        var name = count == 0 ? baseName : $"{baseName}_{count}";

        var node = new NodeProto { Name = name, OpType = operatorType, Domain = domain };
        node.Input.AddRange(inputs.Select(i => i?.Name ?? ""));
        var outputs = Enumerable.Range(0, outputCount).Select(i => new OnnxValue($"{name}_output_{i}", outputType)).ToArray();
        node.Output.AddRange(outputs.Select(o => o.Name));
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Declares a graph input with named (dynamic) and fixed dimensions.</summary>
    public OnnxValue Input(string name, DataType type, params object[] dimensions)
    {
        graph.Input.Add(ValueInfo(name, type, dimensions));
        return new OnnxValue(name, type);
    }

    /// <summary>Declares <paramref name="value"/> as graph output <paramref name="name"/> (through an Identity node when the names differ).</summary>
    public void Output(string name, OnnxValue value, params object[] dimensions)
    {
        var node = new NodeProto { Name = "/" + name + "/Identity", OpType = "Identity" };
        node.Input.Add(value.Name);
        node.Output.Add(name);
        graph.Node.Add(node);
        graph.Output.Add(ValueInfo(name, value.Type, dimensions));
    }

    /// <summary>The finished model with its opset imports and metadata.</summary>
    public ModelProto Build(IReadOnlyDictionary<string, string> metadata, string producerVersion)
    {
        var model = new ModelProto
        {
            IrVersion = Options.IrVersion,
            ProducerName = "Segmenter.Dsl",
            ProducerVersion = producerVersion,
            Domain = "segmenter.dsl",
            ModelVersion = 1,
            DocString = $"{Spec.Name} ({Spec.PaperName}): Segmenter semantic segmentation, exported from generated code.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Options.Opset });
        if (usesContribOperators) model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    private OnnxValue AddConstant(DataType type, long[] dims, string key, Action<TensorProto> fill)
    {
        if (constants.TryGetValue(key, out var existing)) return existing;
        var proto = new TensorProto { Name = $"/constants/{constants.Count}", DataType = (int)type };
        proto.Dims.AddRange(dims);
        fill(proto);
        graph.Initializer.Add(proto);
        var value = new OnnxValue(proto.Name, type);
        constants.Add(key, value);
        return value;
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, object[] dimensions)
    {
        var shape = new TensorShapeProto();
        foreach (var dimension in dimensions)
        {
            shape.Dim.Add(dimension switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"dimension {dimension} must be a name or a size"),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private sealed class ScopeExit : IDisposable
    {
        private readonly List<string> scopes;
        private bool disposed;

        public ScopeExit(List<string> scopes) => this.scopes = scopes;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            scopes.RemoveAt(scopes.Count - 1);
        }
    }
}
