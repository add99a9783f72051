using System.Collections.Generic;
using Segmenter.Dsl.Emit.CSharp;

namespace Segmenter.Dsl.Emit;

/// <summary>
/// Emits C# for compiled models: per model, its class (a sealed partial class deriving from the runtime's
/// <c>SegmenterModel</c>, with its spec, constants, encoder and decoder written out for that variant: fields
/// named after the reference's state-dict keys, forward passes with shape comments) and, for projects that
/// reference Segmenter.Export, a second part of the class with its ONNX graph; and the catalog of all models.
/// The same emitter serves the source generator and the tools' in-memory compilation. The writers live in
/// <c>Emit/CSharp/</c>.
/// </summary>
public static class CSharpEmitter
{
    /// <summary>The generated catalog class's name.</summary>
    public const string CatalogClassName = "SegmenterModels";

    /// <summary>The file name (hint name) of a model's class: <c>X.g.cs</c>.</summary>
    public static string HintName(string modelName) => modelName + ".g.cs";

    /// <summary>The file name (hint name) of a model's ONNX part: <c>X.Onnx.g.cs</c>.</summary>
    public static string OnnxHintName(string modelName) => modelName + ".Onnx.g.cs";

    /// <summary>The C# source of <paramref name="model"/>'s class in <paramref name="namespaceName"/> (without the ONNX graph; no reference to Segmenter.Export).</summary>
    public static string EmitModel(CompiledModel model, string namespaceName) => ModelClassWriter.Write(model, namespaceName);

    /// <summary>
    /// The second part of <paramref name="model"/>'s class in <paramref name="namespaceName"/>: it implements
    /// <c>global::Segmenter.Export.IOnnxExportable</c> by defining the model's ONNX graph. Compile it only with a
    /// reference to Segmenter.Export.
    /// </summary>
    public static string EmitOnnxGraph(CompiledModel model, string namespaceName) => OnnxGraphWriter.Write(model, namespaceName);

    /// <summary>The catalog: every model of the assembly by name, with its spec and a factory.</summary>
    public static string EmitCatalog(IEnumerable<string> modelNames, string namespaceName) =>
        CatalogWriter.Write(modelNames, namespaceName, CatalogClassName);
}
