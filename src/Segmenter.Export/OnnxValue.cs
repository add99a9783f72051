using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Export;

/// <summary>A value in an ONNX graph: its name and element type.</summary>
public readonly record struct OnnxValue(string Name, DataType Type);
