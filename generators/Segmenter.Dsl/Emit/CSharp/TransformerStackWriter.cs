namespace Segmenter.Dsl.Emit.CSharp;

/// <summary>
/// The shapes the encoder and the mask decoder share: a stack of pre-norm transformer blocks named
/// <c>blocks</c> behind an <c>Embed</c> method, its construction, its per-block attention maps, and the
/// reshape of per-token class scores into class maps.
/// </summary>
internal static class TransformerStackWriter
{
    /// <summary>The expression that creates the stack: <c>Runtime.TransformerBlock.Stack(…)</c> with the given constants and rates.</summary>
    public static string Stack(string layers, string width, string heads, string mlpWidth, double dropout, double dropPathRate, double epsilon) =>
        $"Runtime.TransformerBlock.Stack({layers}, {width}, {heads}, {mlpWidth}, dropout: {Literals.Double(dropout)}, dropPathRate: {Literals.Double(dropPathRate)}, epsilon: {Literals.Double(epsilon)})";

    /// <summary>
    /// <c>public Tensor Attention(Tensor input, int layer)</c>: embeds <paramref name="input"/>, runs the blocks before
    /// <c>layer</c> and returns that block's softmax attention; <paramref name="layers"/> bounds the layer in <paramref name="part"/>'s message.
    /// </summary>
    public static void WriteAttention(SourceWriter w, string summary, string input, string layers, string part)
    {
        w.Line($"/// <summary>{summary}</summary>");
        using (w.Block($"public Tensor Attention(Tensor {input}, int layer)"))
        {
            w.Line($"Runtime.SegmenterModel.CheckLayer(layer, {layers}, \"{part}\");");
            w.Line($"var x = Embed({input});");
            w.Line("for (int i = 0; i < layer; i++) x = blocks[i].call(x);");
            w.Line("return blocks[layer].Attention(x);");
        }
    }

    /// <summary>Returns per-token class scores <c>[B, N, K]</c> in <paramref name="scores"/> as class maps <c>[B, K, gridHeight, gridWidth]</c>.</summary>
    public static void WriteReturnClassMaps(SourceWriter w, string scores)
    {
        w.Line("// contiguous: a channels-last view would make the upsampling that follows several times slower");
        w.Line($"return {scores}.transpose(1, 2).contiguous().view({scores}.shape[0], NumClasses, gridHeight, gridWidth);");
    }
}
