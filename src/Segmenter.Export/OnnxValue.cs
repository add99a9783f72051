using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Google.Protobuf;
using Onnx;
using Segmenter.Spec;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Segmenter.Export;

/// <summary>A value in an ONNX graph: its name and element type.</summary>
public readonly record struct OnnxValue(string Name, DataType Type);
