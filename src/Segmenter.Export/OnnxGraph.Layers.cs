using System.Linq;
using Segmenter.Spec;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Export;

/// <summary>
/// The layers shared by every variant, as ONNX subgraphs — the counterparts of the runtime's
/// hand-written blocks. Generated export code composes them like the model's forward pass.
/// Dimensions that depend on the input (batch, height, width, token grid) are computed in the graph.
/// </summary>
public sealed partial class OnnxGraph
{
    /// <summary>The input "image" [batch, 3, height, width] float32, cast to the compute type.</summary>
    public OnnxValue ImageInput() => Cast(Input("image", DataType.Float, "batch", 3, Height, Width), ComputeType);

    /// <summary>The image height as the graph's inputs and outputs declare it: a fixed size (--static) or the symbol "height".</summary>
    private object Height => Options.StaticSize is { } size ? size.Height : "height";

    /// <summary>The image width: a fixed size or the symbol "width".</summary>
    private object Width => Options.StaticSize is { } size ? size.Width : "width";

    /// <summary>Height and width of an image tensor as a 1-D int64 [2].</summary>
    public OnnxValue SpatialSize(OnnxValue images) => Slice(Shape(images), new long[] { 2 }, new long[] { 4 }, new long[] { 0 });

    /// <summary>Images padded with zeros on the right and bottom to multiples of <paramref name="multiple"/>.</summary>
    public OnnxValue PadToMultiple(OnnxValue images, int multiple)
    {
        using var scope = Scope("pad");
        var size = SpatialSize(images);
        var step = Int64s(multiple);
        var padding = Mod(Sub(step, Mod(size, step)), step);                                  // [padH, padW]
        var pads = Concat(0, Int64s(0, 0, 0, 0, 0, 0), padding);                              // begins, then ends (…, padH, padW)
        return Node("Pad", new OnnxValue?[] { images, pads, Scalar(0) }, images.Type, OnnxAttribute.String("mode", "constant"));
    }

    /// <summary>The token grid (H/P, W/P) of padded images, as a 1-D int64 [2].</summary>
    public OnnxValue Grid(OnnxValue paddedImages, int patchSize) => Div(SpatialSize(paddedImages), Int64s(patchSize));

    /// <summary>Patch embedding: the P×P stride-P convolution <c>proj</c>, flattened to tokens [B, N, D].</summary>
    public OnnxValue PatchEmbedding(string name, OnnxValue images, int patchSize, int width)
    {
        using var scope = Scope(name);
        using var proj = Scope("proj");
        var maps = Node("Conv", new OnnxValue?[] { images, Parameter("weight"), Parameter("bias") }, images.Type,
            OnnxAttribute.Ints("kernel_shape", patchSize, patchSize), OnnxAttribute.Ints("strides", patchSize, patchSize));   // [B, D, gh, gw]
        return Transpose(Reshape(maps, 0, width, -1), 0, 2, 1);
    }

    /// <summary>The learned tokens <paramref name="tokenNames"/> ([1, 1, D] each) prepended to <paramref name="x"/> [B, N, D] for every image.</summary>
    public OnnxValue PrependTokens(OnnxValue x, int width, params string[] tokenNames)
    {
        var shape = Concat(0, Slice(Shape(x), new long[] { 0 }, new long[] { 1 }, new long[] { 0 }), Int64s(1, width));   // [B, 1, D]
        var parts = new OnnxValue[tokenNames.Length + 1];
        for (int i = 0; i < tokenNames.Length; i++) parts[i] = Expand(Parameter(tokenNames[i]), shape);
        parts[tokenNames.Length] = x;
        return Concat(1, parts);
    }

    /// <summary>The learned tokens <paramref name="tokenName"/> [1, <paramref name="count"/>, D] appended after <paramref name="x"/> [B, N, D] for every image.</summary>
    public OnnxValue AppendTokens(OnnxValue x, string tokenName, int count, int width)
    {
        var shape = Concat(0, Slice(Shape(x), new long[] { 0 }, new long[] { 1 }, new long[] { 0 }), Int64s(count, width));
        return Concat(1, x, Expand(Parameter(tokenName), shape));
    }

    /// <summary>
    /// The position embedding <paramref name="name"/> [1, E + gh0·gw0, D] for the token grid <paramref name="grid"/>:
    /// the E extra rows kept, the grid part resized (align_corners = false). Resizing to the same grid is the identity.
    /// </summary>
    public OnnxValue PositionEmbedding(string name, int extraTokens, int gridHeight, int gridWidth, int width, OnnxValue grid, ResizeMode mode)
    {
        var table = Parameter(name);
        using var scope = Scope(name);
        var extra = Slice(table, new long[] { 0 }, new long[] { extraTokens }, new long[] { 1 });
        var map = Transpose(Reshape(Slice(table, new long[] { extraTokens }, new[] { End }, new long[] { 1 }), 1, gridHeight, gridWidth, width), 0, 3, 1, 2);
        var resized = Resize(map, Concat(0, Int64s(1, width), grid), mode);                      // [1, D, gh, gw]
        return Concat(1, extra, Reshape(Transpose(resized, 0, 2, 3, 1), 1, -1, width));
    }

    /// <summary>The tokens after the first <paramref name="count"/>.</summary>
    public OnnxValue DropTokens(OnnxValue tokens, int count) => Slice(tokens, new long[] { count }, new[] { End }, new long[] { 1 });

    /// <summary>The first <paramref name="count"/> tokens (<paramref name="count"/> given as a 1-D int64 [1]).</summary>
    public OnnxValue FirstTokens(OnnxValue tokens, OnnxValue count) => Slice(tokens, Int64s(0), count, new long[] { 1 });

    /// <summary>The tokens from position <paramref name="start"/> (a 1-D int64 [1]) on.</summary>
    public OnnxValue TokensFrom(OnnxValue tokens, OnnxValue start) => Slice(tokens, start, Int64s(End), new long[] { 1 });

    /// <summary>The number of tokens of [B, T, D] as a 1-D int64 [1].</summary>
    public OnnxValue TokenCount(OnnxValue tokens) => Slice(Shape(tokens), new long[] { 1 }, new long[] { 2 }, new long[] { 0 });

    /// <summary>A Linear layer <paramref name="name"/>: x · weightᵀ + bias (the weight kept in its state-dict layout).</summary>
    public OnnxValue Linear(string name, OnnxValue x)
    {
        using var scope = Scope(name);
        if (Options.Int8) return QuantizedLinear(x);
        return Add(MatMul(x, Transpose(Parameter("weight"), 1, 0)), Parameter("bias"));
    }

    /// <summary>
    /// The same layer in int8: x quantised at run time (uint8, one scale and zero point per tensor), the weight quantised
    /// here (int8, symmetric, one scale per output channel), an integer product, then back to float32:
    /// y = (xq − xz)·Wqᵀ · (xs · ws) + b.
    /// </summary>
    private OnnxValue QuantizedLinear(OnnxValue x)
    {
        var (weights, scales, zeros) = QuantizedWeight("weight");
        var quantised = NodeWithOutputs("DynamicQuantizeLinear", new OnnxValue?[] { x }, 3, DataType.Uint8, "");
        var input = quantised[0];
        var inputScale = new OnnxValue(quantised[1].Name, DataType.Float);
        var inputZero = quantised[2];
        var product = Node("MatMulInteger", new OnnxValue?[] { input, weights, inputZero, zeros }, DataType.Int32);
        return Add(Mul(Cast(product, DataType.Float), Mul(inputScale, scales)), Parameter("bias"));
    }

    /// <summary>A LayerNorm <paramref name="name"/> over the last axis.</summary>
    public OnnxValue LayerNorm(string name, OnnxValue x, double epsilon)
    {
        using var scope = Scope(name);
        return LayerNormalization(x, Parameter("weight"), Parameter("bias"), epsilon);
    }

    /// <summary>A pre-norm transformer block <paramref name="name"/> (norm1, attn, norm2, mlp), as the runtime's TransformerBlock.</summary>
    public OnnxValue TransformerBlock(string name, OnnxValue x, int width, int heads, double epsilon)
    {
        using var scope = Scope(name);
        x = Add(x, SelfAttention("attn", LayerNorm("norm1", x, epsilon), width, heads));
        return Add(x, Mlp("mlp", LayerNorm("norm2", x, epsilon)));
    }

    /// <summary>Multi-head self-attention <paramref name="name"/> (qkv, proj) on tokens [B, T, D].</summary>
    public OnnxValue SelfAttention(string name, OnnxValue x, int width, int heads)
    {
        using var scope = Scope(name);
        OnnxValue merged;
        if (Options.Flavour == OnnxFlavour.Fused && Options.Int8)
        {
            // The int8 qkv product, then ONNX Runtime's MultiHeadAttention, which on the CPU runs a flash attention that never
            // holds the [T, T] weights.
            merged = ContribNode("MultiHeadAttention", QueryKeyValue(x, width), x.Type, OnnxAttribute.Int("num_heads", heads));
        }
        else if (Options.Flavour == OnnxFlavour.Fused)
        {
            using (Scope("qkv"))
            {
                merged = ContribNode("Attention", new OnnxValue?[] { x, Transpose(Parameter("weight"), 1, 0), Parameter("bias") }, x.Type,
                    OnnxAttribute.Int("num_heads", heads));
            }
        }
        else if (Options.Opset >= 23)
        {
            // ONNX's own Attention operator (opset 23), which a runtime may compute without writing out the [T, T] weights.
            merged = Node("Attention", QueryKeyValue(x, width), x.Type, OnnxAttribute.Int("q_num_heads", heads), OnnxAttribute.Int("kv_num_heads", heads));
        }
        else
        {
            var qkv = Transpose(Reshape(Linear("qkv", x), 0, 0, 3, heads, width / heads), 2, 0, 3, 1, 4);    // [3, B, h, T, D/h]
            var q = Gather(qkv, 0);
            var k = Gather(qkv, 1);
            var v = Gather(qkv, 2);
            var scale = Scalar(1.0 / System.Math.Sqrt(width / heads));
            OnnxValue Attend(OnnxValue query, OnnxValue key, OnnxValue value) =>
                MatMul(Softmax(Mul(MatMul(query, Transpose(key, 0, 1, 3, 2)), scale)), value);
            OnnxValue attended;
            if (Options.AttentionLayout == OnnxAttention.PerHead)
            {
                // Each head's chain depends on its own slices only, so a runtime can finish one head's [B, 1, T, T] scores
                // and softmax before it makes the next's (ONNX Runtime does).
                var ones = Int64s(Enumerable.Repeat(1L, heads).ToArray());
                OnnxValue[] Heads(OnnxValue all) => NodeWithOutputs("Split", new OnnxValue?[] { all, ones }, heads, x.Type, "", OnnxAttribute.Int("axis", 1));
                var (qs, ks, vs) = (Heads(q), Heads(k), Heads(v));
                attended = Concat(1, Enumerable.Range(0, heads).Select(h => Attend(qs[h], ks[h], vs[h])).ToArray());
            }
            else
            {
                attended = Attend(q, k, v);
            }
            merged = Reshape(Transpose(attended, 0, 2, 1, 3), 0, 0, width);               // [B, T, D]
        }
        return Linear("proj", merged);
    }

    /// <summary>
    /// The qkv layer's output split into q, k and v, each [B, T, D]: its three D-wide column blocks, the heads one after another
    /// in each, as attention operators that take the heads packed in the last axis expect.
    /// </summary>
    private OnnxValue?[] QueryKeyValue(OnnxValue x, int width) =>
        System.Array.ConvertAll(NodeWithOutputs("Split", new OnnxValue?[] { Linear("qkv", x), Int64s(width, width, width) }, 3, x.Type, "", OnnxAttribute.Int("axis", 2)),
            part => (OnnxValue?)part);

    /// <summary>The MLP <paramref name="name"/>: fc1, exact GELU, fc2.</summary>
    public OnnxValue Mlp(string name, OnnxValue x)
    {
        using var scope = Scope(name);
        OnnxValue hidden;
        if (Options.Flavour == OnnxFlavour.Fused && !Options.Int8)
        {
            using (Scope("fc1"))
                hidden = ContribNode("BiasGelu", new OnnxValue?[] { MatMul(x, Transpose(Parameter("weight"), 1, 0)), Parameter("bias") }, x.Type);
        }
        else
        {
            hidden = Gelu(Linear("fc1", x));
        }
        return Linear("fc2", hidden);
    }

    /// <summary>Each token of [B, T, D] divided by its L2 norm (no epsilon, as the reference).</summary>
    public OnnxValue L2Normalize(OnnxValue x) => Div(x, ReduceL2LastAxis(x));

    /// <summary>Per-token class scores [B, N, K] as maps [B, K, gh, gw].</summary>
    public OnnxValue TokensToMaps(OnnxValue scores, int classes, OnnxValue grid) =>
        Reshape(Transpose(scores, 0, 2, 1), Concat(0, Int64s(0, classes), grid));

    /// <summary>
    /// Maps [B, K, h, w] upsampled bilinearly (align_corners = false) to the spatial size of <paramref name="like"/>
    /// and cropped to <paramref name="size"/> (H, W) from the top left, as the runtime does it: two matrix products
    /// with interpolation matrices built in the graph from the dynamic sizes (Aₕ · X · Aᵥᵀ), several times faster
    /// than a Resize of many maps. The crop is taken from the matrices (their first H and W rows), so the maps at the
    /// padded size are never made and never copied.
    /// </summary>
    public OnnxValue UpsampleTo(OnnxValue maps, OnnxValue like, OnnxValue size)
    {
        using var scope = Scope("upsample");
        var from = Shape(maps);
        var to = Shape(like);
        var rows = InterpolationMatrix(Slice(from, new long[] { 2 }, new long[] { 3 }, new long[] { 0 }), Slice(to, new long[] { 2 }, new long[] { 3 }, new long[] { 0 }));
        var columns = InterpolationMatrix(Slice(from, new long[] { 3 }, new long[] { 4 }, new long[] { 0 }), Slice(to, new long[] { 3 }, new long[] { 4 }, new long[] { 0 }));
        rows = Slice(rows, Int64s(0), Slice(size, new long[] { 0 }, new long[] { 1 }, new long[] { 0 }), new long[] { 0 });        // [H, h]
        columns = Slice(columns, Int64s(0), Slice(size, new long[] { 1 }, new long[] { 2 }, new long[] { 0 }), new long[] { 0 });  // [W, w]
        return MatMul(rows, MatMul(maps, Transpose(columns, 1, 0)));
    }

    /// <summary>
    /// The [to, from] matrix of 1-D linear interpolation with half-pixel centres (source clamped at 0, as PyTorch),
    /// for sizes given as 1-D int64 [1]: row o has 1 − λ at ⌊s⌋ and λ at ⌊s⌋ + 1 (clamped), s = max(0, (o + ½)·from/to − ½).
    /// </summary>
    private OnnxValue InterpolationMatrix(OnnxValue from, OnnxValue to)
    {
        var fromF = Cast(from, DataType.Float);
        var last = Sub(fromF, Float32(1));
        var outputs = Cast(Node("Range", new OnnxValue?[] { Int64Scalar(0), Squeeze(to), Int64Scalar(1) }, DataType.Int64), DataType.Float);   // [to]
        var inputs = Cast(Node("Range", new OnnxValue?[] { Int64Scalar(0), Squeeze(from), Int64Scalar(1) }, DataType.Int64), DataType.Float);   // [from]
        var scale = Div(fromF, Cast(to, DataType.Float));
        var source = Node("Max", new OnnxValue?[] { Sub(Mul(Add(outputs, Float32(0.5)), scale), Float32(0.5)), Float32(0) }, DataType.Float);
        var lower = Node("Min", new OnnxValue?[] { Node("Floor", new OnnxValue?[] { source }, DataType.Float), last }, DataType.Float);
        var upper = Node("Min", new OnnxValue?[] { Add(lower, Float32(1)), last }, DataType.Float);
        var lambda = Unsqueeze(Sub(source, lower), 1);                                                                   // [to, 1]
        OnnxValue Pick(OnnxValue index) => Cast(Node("Equal", new OnnxValue?[] { Unsqueeze(index, 1), inputs }, DataType.Bool), DataType.Float);   // [to, from]
        var matrix = Add(Mul(Pick(lower), Sub(Float32(1), lambda)), Mul(Pick(upper), lambda));
        return Cast(matrix, ComputeType);
    }

    /// <summary>Declares the outputs: <c>logits</c> [batch, K, height, width] float32 and, if asked for, <c>labels</c> (argmax).</summary>
    public void SegmentationOutputs(OnnxValue logits, int classes)
    {
        var output = Cast(logits, DataType.Float);
        Output("logits", output, "batch", classes, Height, Width);
        if (!Options.Labels) return;
        var argmax = Node("ArgMax", new OnnxValue?[] { output }, DataType.Int64, OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0));
        Output("labels", LabelsOutput.IsByte(classes) ? Cast(argmax, DataType.Uint8) : argmax, "batch", Height, Width);
    }
}
