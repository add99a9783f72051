namespace Segmenter.Export;

/// <summary>A model whose ONNX graph is defined by generated code (every model generated from a spec is one).</summary>
public interface IOnnxExportable
{
    /// <summary>Adds the model's inputs, nodes and outputs to <paramref name="graph"/>, mirroring its forward pass.</summary>
    void DefineOnnxGraph(OnnxGraph graph);
}
