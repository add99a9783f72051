namespace Segmenter.Export;

/// <summary>Which operators an exported graph uses.</summary>
public enum OnnxFlavour
{
    /// <summary>Standard ONNX operators only: runs anywhere (ONNX Runtime, TensorRT, other runtimes).</summary>
    Portable,
    /// <summary>ONNX Runtime's contrib operators (com.microsoft Attention, BiasGelu; with int8, MultiHeadAttention) where they are faster on CPU.</summary>
    Fused,
}
