using Segmenter.Spec;

namespace Segmenter.Dsl.Emit.CSharp;

/// <summary>Writes the ViT encoder module of a model class (state-dict prefix <c>encoder.</c>).</summary>
internal static class EncoderWriter
{
    private const string SpecNs = GeneratedFile.SpecNamespace;

    /// <summary>Writes <c>EncoderModule</c> for <paramref name="spec"/>.</summary>
    public static void Write(SourceWriter w, SegmenterSpec spec)
    {
        var b = spec.Backbone;
        int d = b.Width, p = spec.PatchSize;
        string extra = b.Distilled ? "2" : "1";
        bool dropout = spec.Dropout > 0;

        w.Line($"/// <summary>The ViT encoder (state-dict prefix <c>encoder.</c>): patch embedding, {(b.Distilled ? "class and distillation tokens" : "a class token")}, {b.Layers} pre-norm blocks, final LayerNorm.</summary>");
        using (w.Block("public sealed class EncoderModule : nn.Module<Tensor, Tensor>"))
        {
            w.Line($"private readonly Parameter cls_token;", $"[1, 1, {d}]");
            if (b.Distilled)
                w.Line($"private readonly Parameter dist_token;", $"[1, 1, {d}]");
            w.Line($"private readonly Parameter pos_embed;", $"[1, {extra} + {spec.GridHeight}·{spec.GridWidth}, {d}]");
            w.Line("private readonly Runtime.PatchEmbedding patch_embed;");
            w.Line("private readonly Modules.ModuleList<Runtime.TransformerBlock> blocks;");
            w.Line("private readonly Modules.LayerNorm norm;");
            if (dropout) w.Line("private readonly Runtime.SampleDropout dropout;");
            w.Line();
            w.Line("/// <summary>Creates the encoder with the reference's initialisation.</summary>");
            using (w.Block("public EncoderModule() : base(\"encoder\")"))
            {
                w.Line("cls_token = new Parameter(zeros(1, 1, Width));");
                if (b.Distilled) w.Line("dist_token = new Parameter(zeros(1, 1, Width));");
                w.Line("pos_embed = new Parameter(zeros(1, ExtraTokens + GridHeight * GridWidth, Width));");
                w.Line("patch_embed = new Runtime.PatchEmbedding(3, Width, PatchSize);");
                w.Line("// Drop-path rises linearly from 0 at the first block to the rate at the last.");
                w.Line($"blocks = {TransformerStackWriter.Stack("Layers", "Width", "Heads", "MlpWidth", spec.Dropout, spec.DropPathRate, spec.LayerNormEpsilon)};");
                w.Line($"norm = nn.LayerNorm(Width, eps: {Literals.Double(spec.LayerNormEpsilon)});");
                if (dropout) w.Line($"dropout = new Runtime.SampleDropout({Literals.Double(spec.Dropout)});");
                w.Line("RegisterComponents();");
                w.Line("Runtime.Initialization.Reference(this);");
                w.Line("Runtime.Initialization.TruncatedNormal(pos_embed);");
                w.Line("Runtime.Initialization.TruncatedNormal(cls_token);");
                if (b.Distilled) w.Line("Runtime.Initialization.TruncatedNormal(dist_token);");
            }
            w.Line();
            w.Line($"/// <summary>Tokens [B, {extra} + N, {d}] for images [B, 3, H, W] whose sides are multiples of {p}.</summary>");
            using (w.Block("public override Tensor forward(Tensor images)"))
            {
                w.Line("var x = Embed(images);");
                w.Line("for (int i = 0; i < Layers; i++) x = blocks[i].call(x);                  // [B, " + extra + " + N, " + d + "]");
                w.Line("return norm.call(x);");
            }
            w.Line();
            TransformerStackWriter.WriteAttention(w,
                $"The softmax attention of block <paramref name=\"layer\"/>: [B, {b.Heads}, {extra} + N, {extra} + N] (images are not padded; the grid is ⌊H/{p}⌋ × ⌊W/{p}⌋).",
                "images", "Layers", "encoder");
            w.Line();
            using (w.Block("private Tensor Embed(Tensor images)"))
            {
                w.Line("long batch = images.shape[0];");
                w.Line("long gridHeight = images.shape[2] / PatchSize, gridWidth = images.shape[3] / PatchSize;");
                w.Line($"var x = patch_embed.call(images);", $"[B, N, {d}], N = gridHeight · gridWidth");
                if (b.Distilled)
                    w.Line($"x = cat(new[] {{ cls_token.expand(batch, -1, -1), dist_token.expand(batch, -1, -1), x }}, 1);", $"[B, 2 + N, {d}]");
                else
                    w.Line($"x = cat(new[] {{ cls_token.expand(batch, -1, -1), x }}, 1);", $"[B, 1 + N, {d}]");
                w.Line($"x = x.add(Runtime.PositionEmbedding.Resample(pos_embed, ExtraTokens, GridHeight, GridWidth, gridHeight, gridWidth, {SpecNs}.ResizeMode.{spec.PositionEmbeddingResize}), Runtime.Scalars.One);");
                w.Line(dropout ? "return dropout.call(x);" : "return x;");
            }
        }
    }
}
