using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Export;
using Segmenter.Spec;

namespace Segmenter.Serving;

/// <summary>A tensor as the protocol's metadata describes it: name, datatype (FP32, UINT8, INT64) and shape, −1 for a dynamic dimension.</summary>
public sealed record TensorDescription(string Name, string Datatype, IReadOnlyList<long> Shape)
{
    /// <summary>The shape as text, e.g. <c>[-1, 3, -1, -1]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

/// <summary>
/// The served model as clients see it: its name and version, its platform, and tensors named and typed as the exported
/// ONNX file's (input <c>image</c> FP32 [-1, 3, H, W]; outputs <c>logits</c> FP32 [-1, K, H, W] and <c>labels</c>
/// [-1, H, W], UINT8 up to 256 classes, else INT64), so a request to this server works unchanged against Triton serving
/// the <c>export --triton --labels</c> folder.
/// </summary>
public sealed class ModelDescription
{
    /// <summary>Describes <paramref name="spec"/> served by <paramref name="engine"/> as <paramref name="name"/>.</summary>
    public ModelDescription(string name, SegmenterSpec spec, IInferenceEngine engine)
    {
        TritonRepository.Validate(name, new TritonSettings());   // a plain name: letters, digits, '-' and '_'
        Name = name;
        Spec = spec;
        Platform = engine.Platform;
        Classes = engine.Classes;
        StaticSize = engine.StaticSize;
        long height = StaticSize?.Height ?? -1, width = StaticSize?.Width ?? -1;
        Input = new TensorDescription("image", "FP32", new[] { -1L, 3, height, width });
        Outputs = new[]
        {
            new TensorDescription("logits", "FP32", new[] { -1L, Classes, height, width }),
            new TensorDescription(LabelsOutput.Name, LabelsOutput.IsByte(Classes) ? "UINT8" : "INT64", new[] { -1L, height, width }),
        };
    }

    /// <summary>The name in URLs (matched exactly).</summary>
    public string Name { get; }

    /// <summary>The only version: "1", as in the Triton folder.</summary>
    public string Version => "1";

    /// <summary>The model's spec: classes, normalisation, training size.</summary>
    public SegmenterSpec Spec { get; }

    /// <summary>onnxruntime_onnx or torchsharp.</summary>
    public string Platform { get; }

    /// <summary>The number of classes K.</summary>
    public int Classes { get; }

    /// <summary>The fixed input size of a --static export; null for any size.</summary>
    public (int Height, int Width)? StaticSize { get; }

    /// <summary>The input.</summary>
    public TensorDescription Input { get; }

    /// <summary>The outputs.</summary>
    public IReadOnlyList<TensorDescription> Outputs { get; }

    /// <summary>The output called <paramref name="name"/>.</summary>
    public TensorDescription Output(string name) => Outputs.First(o => o.Name == name);

    /// <summary>Whether <paramref name="version"/> (from a /versions/{v}/ URL) names this model's version.</summary>
    public bool HasVersion(string? version) => version is null || string.Equals(version, Version, StringComparison.Ordinal);
}
