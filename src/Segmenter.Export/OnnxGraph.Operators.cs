using System.Linq;
using Segmenter.Spec;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Export;

/// <summary>Typed helpers for the ONNX operators the layers use (opset-dependent forms handled here).</summary>
public sealed partial class OnnxGraph
{
    private const long End = long.MaxValue;

    /// <summary>a + b.</summary>
    public OnnxValue Add(OnnxValue a, OnnxValue b) => Node("Add", new OnnxValue?[] { a, b }, a.Type);

    /// <summary>a − b.</summary>
    public OnnxValue Sub(OnnxValue a, OnnxValue b) => Node("Sub", new OnnxValue?[] { a, b }, a.Type);

    /// <summary>a × b.</summary>
    public OnnxValue Mul(OnnxValue a, OnnxValue b) => Node("Mul", new OnnxValue?[] { a, b }, a.Type);

    /// <summary>a ÷ b (integer division for integers).</summary>
    public OnnxValue Div(OnnxValue a, OnnxValue b) => Node("Div", new OnnxValue?[] { a, b }, a.Type);

    /// <summary>a mod b (integers).</summary>
    public OnnxValue Mod(OnnxValue a, OnnxValue b) => Node("Mod", new OnnxValue?[] { a, b }, a.Type);

    /// <summary>The matrix product.</summary>
    public OnnxValue MatMul(OnnxValue a, OnnxValue b) => Node("MatMul", new OnnxValue?[] { a, b }, a.Type);

    /// <summary>Transposition by <paramref name="permutation"/>.</summary>
    public OnnxValue Transpose(OnnxValue x, params long[] permutation) =>
        Node("Transpose", new OnnxValue?[] { x }, x.Type, OnnxAttribute.Ints("perm", permutation));

    /// <summary>Reshape to <paramref name="shape"/> (0 copies the input's dimension, −1 is inferred).</summary>
    public OnnxValue Reshape(OnnxValue x, OnnxValue shape) => Node("Reshape", new OnnxValue?[] { x, shape }, x.Type);

    /// <summary>Reshape to a constant shape.</summary>
    public OnnxValue Reshape(OnnxValue x, params long[] shape) => Reshape(x, Int64s(shape));

    /// <summary>Concatenation along <paramref name="axis"/>.</summary>
    public OnnxValue Concat(long axis, params OnnxValue[] values) =>
        Node("Concat", values.Select(v => (OnnxValue?)v), values[0].Type, OnnxAttribute.Int("axis", axis));

    /// <summary>The shape of <paramref name="x"/> as a 1-D int64 tensor.</summary>
    public OnnxValue Shape(OnnxValue x) => Node("Shape", new OnnxValue?[] { x }, DataType.Int64);

    /// <summary>Elements [start, end) of a 1-D tensor, or along <paramref name="axes"/>.</summary>
    public OnnxValue Slice(OnnxValue x, long[] starts, long[] ends, long[] axes) =>
        Node("Slice", new OnnxValue?[] { x, Int64s(starts), Int64s(ends), Int64s(axes) }, x.Type);

    /// <summary>Slice with dynamic ends.</summary>
    public OnnxValue Slice(OnnxValue x, OnnxValue starts, OnnxValue ends, long[] axes) =>
        Node("Slice", new OnnxValue?[] { x, starts, ends, Int64s(axes) }, x.Type);

    /// <summary>Element <paramref name="index"/> along axis 0, removing that axis.</summary>
    public OnnxValue Gather(OnnxValue x, long index) =>
        Node("Gather", new OnnxValue?[] { x, Int64Scalar(index) }, x.Type, OnnxAttribute.Int("axis", 0));

    /// <summary>Broadcast to <paramref name="shape"/>.</summary>
    public OnnxValue Expand(OnnxValue x, OnnxValue shape) => Node("Expand", new OnnxValue?[] { x, shape }, x.Type);

    /// <summary>Softmax over the last axis.</summary>
    public OnnxValue Softmax(OnnxValue x) => Node("Softmax", new OnnxValue?[] { x }, x.Type, OnnxAttribute.Int("axis", -1));

    /// <summary>The Gauss error function.</summary>
    public OnnxValue Erf(OnnxValue x) => Node("Erf", new OnnxValue?[] { x }, x.Type);

    /// <summary>Conversion to <paramref name="type"/>.</summary>
    public OnnxValue Cast(OnnxValue x, DataType type) =>
        x.Type == type ? x : Node("Cast", new OnnxValue?[] { x }, type, OnnxAttribute.Int("to", (long)type));

    /// <summary>LayerNormalization over the last axis (ONNX 17).</summary>
    public OnnxValue LayerNormalization(OnnxValue x, OnnxValue scale, OnnxValue bias, double epsilon) =>
        Node("LayerNormalization", new OnnxValue?[] { x, scale, bias }, x.Type, OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", epsilon));

    /// <summary>The L2 norm over the last axis, kept as a size-1 axis.</summary>
    public OnnxValue ReduceL2LastAxis(OnnxValue x) =>
        Options.Opset >= 18
            ? Node("ReduceL2", new OnnxValue?[] { x, Int64s(-1) }, x.Type, OnnxAttribute.Int("keepdims", 1))
            : Node("ReduceL2", new OnnxValue?[] { x }, x.Type, OnnxAttribute.Ints("axes", -1), OnnxAttribute.Int("keepdims", 1));

    /// <summary>Resize to <paramref name="sizes"/> (all four dimensions) with half-pixel coordinates: align_corners = false.</summary>
    public OnnxValue Resize(OnnxValue x, OnnxValue sizes, ResizeMode mode) =>
        Node("Resize", new OnnxValue?[] { x, null, null, sizes }, x.Type,
            OnnxAttribute.String("mode", mode == ResizeMode.Bicubic ? "cubic" : "linear"),
            OnnxAttribute.String("coordinate_transformation_mode", "half_pixel"),
            OnnxAttribute.Float("cubic_coeff_a", -0.75));

    /// <summary>A 1-D tensor of one element as a 0-D scalar.</summary>
    public OnnxValue Squeeze(OnnxValue x) => Node("Squeeze", new OnnxValue?[] { x, Int64s(0) }, x.Type);

    /// <summary>A new axis of size 1 at <paramref name="axis"/>.</summary>
    public OnnxValue Unsqueeze(OnnxValue x, long axis) => Node("Unsqueeze", new OnnxValue?[] { x, Int64s(axis) }, x.Type);

    /// <summary>Exact (erf) GELU: x · ½ · (1 + erf(x / √2)); the Gelu operator from opset 20.</summary>
    public OnnxValue Gelu(OnnxValue x)
    {
        if (Options.Opset >= 20) return Node("Gelu", new OnnxValue?[] { x }, x.Type);
        var erf = Erf(Div(x, Scalar(System.Math.Sqrt(2.0))));
        return Mul(Mul(x, Add(erf, Scalar(1.0))), Scalar(0.5));
    }
}
