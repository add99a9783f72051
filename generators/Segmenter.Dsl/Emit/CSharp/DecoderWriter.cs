using Segmenter.Spec;

namespace Segmenter.Dsl.Emit.CSharp;

/// <summary>Writes the decoder module of a model class (state-dict prefix <c>decoder.</c>): linear or mask transformer.</summary>
internal static class DecoderWriter
{
    /// <summary>Writes the linear <c>DecoderModule</c>.</summary>
    public static void WriteLinear(SourceWriter w, SegmenterSpec spec)
    {
        int d = spec.Backbone.Width, k = spec.NumClasses;
        w.Line($"/// <summary>The linear decoder (state-dict prefix <c>decoder.</c>): one Linear({d} → {k}) per patch token.</summary>");
        using (w.Block("public sealed class DecoderModule : nn.Module<Tensor, long, long, Tensor>"))
        {
            w.Line("private readonly Modules.Linear head;");
            w.Line();
            w.Line("/// <summary>Creates the decoder with the reference's initialisation.</summary>");
            using (w.Block("public DecoderModule() : base(\"decoder\")"))
            {
                w.Line("head = nn.Linear(Width, NumClasses);");
                w.Line("RegisterComponents();");
                w.Line("Runtime.Initialization.Reference(this);");
            }
            w.Line();
            w.Line($"/// <summary>Class maps [B, {k}, gridHeight, gridWidth] from patch tokens [B, N, {d}].</summary>");
            using (w.Block("public override Tensor forward(Tensor patches, long gridHeight, long gridWidth)"))
            {
                w.Line($"var x = head.call(patches);", $"[B, N, {k}]");
                TransformerStackWriter.WriteReturnClassMaps(w, "x");
            }
        }
    }

    /// <summary>Writes the mask-transformer <c>DecoderModule</c>.</summary>
    public static void WriteMask(SourceWriter w, SegmenterSpec spec)
    {
        var m = spec.Decoder;
        int d = spec.Backbone.Width, k = spec.NumClasses, dm = m.Width;
        w.Line($"/// <summary>The mask transformer (state-dict prefix <c>decoder.</c>): {k} class embeddings decoded with the patches by {m.Layers} block{(m.Layers == 1 ? "" : "s")} of width {dm}, {m.Heads} heads.</summary>");
        using (w.Block("public sealed class DecoderModule : nn.Module<Tensor, long, long, Tensor>"))
        {
            w.Line($"private const int DecoderWidth = {dm};");
            w.Line($"private const int DecoderLayers = {m.Layers};");
            w.Line($"private const int DecoderHeads = {m.Heads};");
            w.Line($"private const int DecoderMlpWidth = {m.MlpWidth};");
            w.Line();
            w.Line($"private readonly Parameter cls_emb;", $"[1, {k}, {dm}]");
            w.Line($"private readonly Parameter proj_patch;", $"[{dm}, {dm}]");
            w.Line($"private readonly Parameter proj_classes;", $"[{dm}, {dm}]");
            w.Line("private readonly Modules.ModuleList<Runtime.TransformerBlock> blocks;");
            w.Line($"private readonly Modules.Linear proj_dec;", $"{d} → {dm}");
            w.Line("private readonly Modules.LayerNorm decoder_norm;");
            w.Line($"private readonly Modules.LayerNorm mask_norm;", $"over the {k} classes");
            w.Line();
            w.Line("/// <summary>Creates the decoder with the reference's initialisation.</summary>");
            using (w.Block("public DecoderModule() : base(\"decoder\")"))
            {
                w.Line("cls_emb = new Parameter(zeros(1, NumClasses, DecoderWidth));");
                w.Line("proj_patch = new Parameter(Runtime.Initialization.ScaledNormal(DecoderWidth, DecoderWidth));");
                w.Line("proj_classes = new Parameter(Runtime.Initialization.ScaledNormal(DecoderWidth, DecoderWidth));");
                w.Line($"blocks = {TransformerStackWriter.Stack("DecoderLayers", "DecoderWidth", "DecoderHeads", "DecoderMlpWidth", m.Dropout, m.DropPathRate, spec.LayerNormEpsilon)};");
                w.Line("proj_dec = nn.Linear(Width, DecoderWidth);");
                w.Line($"decoder_norm = nn.LayerNorm(DecoderWidth, eps: {Literals.Double(spec.LayerNormEpsilon)});");
                w.Line($"mask_norm = nn.LayerNorm(NumClasses, eps: {Literals.Double(spec.LayerNormEpsilon)});");
                w.Line("RegisterComponents();");
                w.Line("Runtime.Initialization.Reference(this);");
                w.Line("Runtime.Initialization.TruncatedNormal(cls_emb);");
            }
            w.Line();
            w.Line($"/// <summary>Class maps [B, {k}, gridHeight, gridWidth] from patch tokens [B, N, {d}].</summary>");
            using (w.Block("public override Tensor forward(Tensor patches, long gridHeight, long gridWidth)"))
            {
                w.Line("long n = patches.shape[1];");
                w.Line("var x = Embed(patches);");
                w.Line($"for (int i = 0; i < DecoderLayers; i++) x = blocks[i].call(x);", $"[B, N + {k}, {dm}]");
                w.Line("x = decoder_norm.call(x);");
                w.Line($"var patchFeatures = x.narrow(1, 0, n).matmul(proj_patch);", $"[B, N, {dm}]");
                w.Line($"var classFeatures = x.narrow(1, n, NumClasses).matmul(proj_classes);", $"[B, {k}, {dm}]");
                w.Line("patchFeatures = patchFeatures / patchFeatures.norm(-1, true);", "unit length per token, as the reference (no epsilon)");
                w.Line("classFeatures = classFeatures / classFeatures.norm(-1, true);");
                w.Line($"var masks = mask_norm.call(patchFeatures.matmul(classFeatures.transpose(1, 2)));", $"[B, N, {k}]");
                TransformerStackWriter.WriteReturnClassMaps(w, "masks");
            }
            w.Line();
            TransformerStackWriter.WriteAttention(w, $"The softmax attention of block <paramref name=\"layer\"/>: [B, {m.Heads}, N + {k}, N + {k}].",
                "patches", "DecoderLayers", "decoder");
            w.Line();
            using (w.Block("private Tensor Embed(Tensor patches)"))
            {
                w.Line($"var x = proj_dec.call(patches);", $"[B, N, {dm}]");
                w.Line($"return cat(new[] {{ x, cls_emb.expand(x.shape[0], -1, -1) }}, 1);", $"[B, N + {k}, {dm}]");
            }
        }
    }
}
