using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Export;

/// <summary>
/// An exported model cut where its class maps [B, K, h, w] (patch resolution) are upsampled to the image: the
/// <see cref="Body"/> computes the maps and the two interpolation matrices that <see cref="OnnxGraph.UpsampleTo"/> builds,
/// rows [H, h] and columns [W, w]; the <see cref="Head"/> takes those three and computes the logits (and the labels
/// output, where the file has one) as the whole graph does, with the same operators. The body alone is what labels need:
/// <see cref="UpsampledArgmax"/> takes the argmax of the upsampled maps without making the K full-size maps.
/// </summary>
internal sealed class OnnxGraphSplit
{
    private OnnxGraphSplit(byte[] body, byte[] head, string maps, string rows, string columns)
    {
        Body = body;
        Head = head;
        Maps = maps;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The model up to the class maps: input <c>image</c>, outputs <see cref="Maps"/>, <see cref="Rows"/>, <see cref="Columns"/>.</summary>
    public byte[] Body { get; }

    /// <summary>The upsampling: inputs <see cref="Maps"/>, <see cref="Rows"/>, <see cref="Columns"/>; the whole model's outputs.</summary>
    public byte[] Head { get; }

    /// <summary>The class maps [B, K, h, w], float32.</summary>
    public string Maps { get; }

    /// <summary>The vertical interpolation matrix [H, h], float32: output row y is Σᵢ rows[y, i] · (row i of the maps).</summary>
    public string Rows { get; }

    /// <summary>The horizontal interpolation matrix [W, w], float32.</summary>
    public string Columns { get; }

    /// <summary>The three tensors the body gives and the head takes, in that order.</summary>
    public string[] Cut => new[] { Maps, Rows, Columns };

    /// <summary>
    /// Cuts <paramref name="model"/> if it ends as this project's exports of float32 models do: <c>logits</c> =
    /// MatMul(rows, MatMul(maps, Transpose(columns))), with nothing after the cut but the upsampling and the outputs.
    /// Null for any other graph (another exporter's, or a float16 export), which then runs whole.
    /// </summary>
    public static OnnxGraphSplit? TryCut(byte[] model)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;   // ONNX Runtime says what is wrong with the file when it opens it
        }
        var graph = proto.Graph;
        if (graph is null) return null;
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output) producers[output] = node;
        }
        NodeProto? Producer(string name, string opType) =>
            producers.TryGetValue(name, out var node) && node.OpType == opType && node.Domain is "" or "ai.onnx" ? node : null;

        // logits = Identity(MatMul(rows, MatMul(maps, Transpose(columns)))): Identity, not a Cast, so the products are float32.
        var identity = Producer("logits", "Identity");
        var outer = identity is null ? null : Producer(identity.Input[0], "MatMul");
        var inner = outer is null || outer.Input.Count != 2 ? null : Producer(outer.Input[1], "MatMul");
        var transpose = inner is null || inner.Input.Count != 2 ? null : Producer(inner.Input[1], "Transpose");
        if (transpose is null || !IsMatrixTranspose(transpose)) return null;
        string maps = inner!.Input[0], rows = outer!.Input[0], columns = transpose.Input[0];

        // The body: every node the three tensors need; the head: the rest, which must need nothing else from the body.
        var needed = new HashSet<string>(new[] { maps, rows, columns }, StringComparer.Ordinal);
        var bodyNodes = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Node.Reverse())
        {
            if (!node.Output.Any(needed.Contains)) continue;
            bodyNodes.Add(node);
            foreach (var input in node.Input) needed.Add(input);
        }
        var headNodes = graph.Node.Where(n => !bodyNodes.Contains(n)).ToList();
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var madeInHead = headNodes.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var headNeeds = headNodes.SelectMany(n => n.Input).Where(i => i.Length > 0 && !madeInHead.Contains(i) && !initializers.ContainsKey(i)).ToHashSet(StringComparer.Ordinal);
        if (!headNeeds.SetEquals(new[] { maps, rows, columns }) || graph.Output.Any(o => !madeInHead.Contains(o.Name))) return null;
        if (graph.Node.Any(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))) return null;   // subgraphs: not ours

        var bodyGraph = Subgraph(graph, graph.Node.Where(bodyNodes.Contains), initializers);
        bodyGraph.Input.Add(graph.Input);
        foreach (var name in new[] { maps, rows, columns }) bodyGraph.Output.Add(FloatTensor(name));
        var headGraph = Subgraph(graph, headNodes, initializers);
        foreach (var name in new[] { maps, rows, columns }) headGraph.Input.Add(FloatTensor(name));
        headGraph.Output.Add(graph.Output);
        return new OnnxGraphSplit(WithGraph(proto, bodyGraph), WithGraph(proto, headGraph), maps, rows, columns);
    }

    private static bool IsMatrixTranspose(NodeProto transpose)
    {
        var perm = transpose.Attribute.FirstOrDefault(a => a.Name == "perm");
        return perm is not null && perm.Ints.SequenceEqual(new long[] { 1, 0 });
    }

    /// <summary>A graph of <paramref name="nodes"/> with the initializers they read (shared, not copied).</summary>
    private static GraphProto Subgraph(GraphProto whole, IEnumerable<NodeProto> nodes, IReadOnlyDictionary<string, TensorProto> initializers)
    {
        var graph = new GraphProto { Name = whole.Name, DocString = whole.DocString };
        graph.Node.Add(nodes);
        var reads = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        graph.Initializer.Add(whole.Initializer.Where(i => reads.Contains(i.Name)));
        var made = graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        graph.ValueInfo.Add(whole.ValueInfo.Where(v => made.Contains(v.Name)));
        return graph;
    }

    private static ValueInfoProto FloatTensor(string name) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
    };

    /// <summary><paramref name="model"/> with <paramref name="graph"/> in place of its own (opsets, metadata and versions kept).</summary>
    private static byte[] WithGraph(ModelProto model, GraphProto graph)
    {
        var part = new ModelProto
        {
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
            Domain = model.Domain,
            ModelVersion = model.ModelVersion,
            DocString = model.DocString,
            Graph = graph,
        };
        part.OpsetImport.Add(model.OpsetImport);
        part.MetadataProps.Add(model.MetadataProps);
        return part.ToByteArray();
    }
}
