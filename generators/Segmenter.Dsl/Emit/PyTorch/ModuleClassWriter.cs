using System;
using Segmenter.Spec;

namespace Segmenter.Dsl.Emit.PyTorch;

/// <summary>
/// The encoder, the decoder and the model class, written out for this variant. Attributes are assigned in the
/// order of the TorchSharp class's fields, so <c>state_dict()</c> lists the same keys in the same order.
/// </summary>
internal static class ModuleClassWriter
{
    public static void Write(SourceWriter w, SegmenterSpec spec)
    {
        WriteEncoder(w, spec);
        w.Line();
        w.Line();
        if (spec.Decoder.Kind == DecoderKind.Linear) WriteLinearDecoder(w, spec);
        else WriteMaskDecoder(w, spec);
        w.Line();
        w.Line();
        WriteModel(w, spec);
        w.Line();
        w.Line();
        using (Def(w, "def create_model():"))
        {
            w.Line($"\"\"\"A new {spec.Name} with the reference's random initialisation, on the CPU.\"\"\"");
            w.Line($"return {PyTorchEmitter.ClassName(spec.Name)}()");
        }
    }

    private static void WriteEncoder(SourceWriter w, SegmenterSpec spec)
    {
        var b = spec.Backbone;
        string resize = spec.PositionEmbeddingResize == ResizeMode.Bicubic ? "bicubic" : "bilinear";
        using (Def(w, "class Encoder(nn.Module):"))
        {
            w.Line($"\"\"\"The ViT encoder (state-dict prefix encoder.): patch embedding, {(b.Distilled ? "class and distillation tokens" : "a class token")}, {b.Layers} pre-norm blocks, final LayerNorm.\"\"\"");
            w.Line();
            using (Def(w, "def __init__(self):"))
            {
                w.Line("super().__init__()");
                w.Line("self.cls_token = nn.Parameter(torch.zeros(1, 1, WIDTH))");
                if (b.Distilled) w.Line("self.dist_token = nn.Parameter(torch.zeros(1, 1, WIDTH))");
                w.Line("self.pos_embed = nn.Parameter(torch.zeros(1, EXTRA_TOKENS + GRID_HEIGHT * GRID_WIDTH, WIDTH))");
                w.Line("self.patch_embed = PatchEmbedding(3, WIDTH, PATCH_SIZE)");
                w.Line($"self.blocks = _blocks(LAYERS, WIDTH, HEADS, MLP_WIDTH, dropout={PythonLiterals.Float(spec.Dropout)}, drop_path_rate={PythonLiterals.Float(spec.DropPathRate)})");
                w.Line("self.norm = nn.LayerNorm(WIDTH, eps=LAYER_NORM_EPS)");
                if (spec.Dropout > 0) w.Line($"self.dropout = nn.Dropout({PythonLiterals.Float(spec.Dropout)})");
                w.Line("_init_weights(self)");
                w.Line("_trunc_normal_(self.pos_embed)");
                w.Line("_trunc_normal_(self.cls_token)");
                if (b.Distilled) w.Line("_trunc_normal_(self.dist_token)");
            }
            w.Line();
            using (Def(w, "def forward(self, images):"))
            {
                w.Line($"\"\"\"Tokens [B, {spec.ExtraTokens} + N, {b.Width}] for images [B, 3, H, W] whose sides are multiples of {spec.PatchSize}.\"\"\"");
                w.Line("x = self.embed(images)");
                using (Def(w, "for block in self.blocks:")) w.Line("x = block(x)");
                w.Line("return self.norm(x)");
            }
            w.Line();
            WriteAttention(w, "images", "LAYERS", "encoder",
                $"[B, {b.Heads}, {spec.ExtraTokens} + N, {spec.ExtraTokens} + N] (the grid is H // {spec.PatchSize} x W // {spec.PatchSize})");
            w.Line();
            using (Def(w, "def embed(self, images):"))
            {
                w.Line("batch = images.shape[0]");
                w.Line("grid_height, grid_width = images.shape[2] // PATCH_SIZE, images.shape[3] // PATCH_SIZE");
                w.Line($"x = self.patch_embed(images)  # [B, N, {b.Width}], N = grid_height * grid_width");
                w.Line(b.Distilled
                    ? $"x = torch.cat([self.cls_token.expand(batch, -1, -1), self.dist_token.expand(batch, -1, -1), x], dim=1)  # [B, 2 + N, {b.Width}]"
                    : $"x = torch.cat([self.cls_token.expand(batch, -1, -1), x], dim=1)  # [B, 1 + N, {b.Width}]");
                w.Line($"x = x + _resize_pos_embed(self.pos_embed, grid_height, grid_width, {PythonLiterals.String(resize)})");
                w.Line(spec.Dropout > 0 ? "return self.dropout(x)" : "return x");
            }
        }
    }

    private static void WriteLinearDecoder(SourceWriter w, SegmenterSpec spec)
    {
        int d = spec.Backbone.Width, k = spec.NumClasses;
        using (Def(w, "class Decoder(nn.Module):"))
        {
            w.Line($"\"\"\"The linear decoder (state-dict prefix decoder.): one Linear({d} -> {k}) per patch token.\"\"\"");
            w.Line();
            using (Def(w, "def __init__(self):"))
            {
                w.Line("super().__init__()");
                w.Line("self.head = nn.Linear(WIDTH, NUM_CLASSES)");
                w.Line("_init_weights(self)");
            }
            w.Line();
            using (Def(w, "def forward(self, patches, grid_height, grid_width):"))
            {
                w.Line($"\"\"\"Class maps [B, {k}, grid_height, grid_width] from patch tokens [B, N, {d}].\"\"\"");
                w.Line($"x = self.head(patches)  # [B, N, {k}]");
                w.Line("return x.transpose(1, 2).reshape(x.shape[0], NUM_CLASSES, grid_height, grid_width)");
            }
        }
    }

    private static void WriteMaskDecoder(SourceWriter w, SegmenterSpec spec)
    {
        var m = spec.Decoder;
        int d = spec.Backbone.Width, k = spec.NumClasses;
        using (Def(w, "class Decoder(nn.Module):"))
        {
            w.Line($"\"\"\"The mask transformer (state-dict prefix decoder.): {k} class embeddings decoded with the patches by {m.Layers} block{(m.Layers == 1 ? "" : "s")} of width {m.Width}, {m.Heads} heads.\"\"\"");
            w.Line();
            w.Line($"WIDTH = {m.Width}");
            w.Line($"LAYERS = {m.Layers}");
            w.Line($"HEADS = {m.Heads}");
            w.Line($"MLP_WIDTH = {m.MlpWidth}");
            w.Line();
            using (Def(w, "def __init__(self):"))
            {
                w.Line("super().__init__()");
                w.Line("width = Decoder.WIDTH");
                w.Line("self.cls_emb = nn.Parameter(torch.zeros(1, NUM_CLASSES, width))");
                w.Line("self.proj_patch = nn.Parameter(width ** -0.5 * torch.randn(width, width))");
                w.Line("self.proj_classes = nn.Parameter(width ** -0.5 * torch.randn(width, width))");
                w.Line($"self.blocks = _blocks(Decoder.LAYERS, width, Decoder.HEADS, Decoder.MLP_WIDTH, dropout={PythonLiterals.Float(m.Dropout)}, drop_path_rate={PythonLiterals.Float(m.DropPathRate)})");
                w.Line($"self.proj_dec = nn.Linear(WIDTH, width)  # {d} -> {m.Width}");
                w.Line("self.decoder_norm = nn.LayerNorm(width, eps=LAYER_NORM_EPS)");
                w.Line($"self.mask_norm = nn.LayerNorm(NUM_CLASSES, eps=LAYER_NORM_EPS)  # over the {k} classes");
                w.Line("_init_weights(self)");
                w.Line("_trunc_normal_(self.cls_emb)");
            }
            w.Line();
            using (Def(w, "def forward(self, patches, grid_height, grid_width):"))
            {
                w.Line($"\"\"\"Class maps [B, {k}, grid_height, grid_width] from patch tokens [B, N, {d}].\"\"\"");
                w.Line("n = patches.shape[1]");
                w.Line("x = self.embed(patches)");
                using (Def(w, "for block in self.blocks:")) w.Line($"x = block(x)  # [B, N + {k}, {m.Width}]");
                w.Line("x = self.decoder_norm(x)");
                w.Line($"patch_features = x[:, :n] @ self.proj_patch  # [B, N, {m.Width}]");
                w.Line($"class_features = x[:, n:] @ self.proj_classes  # [B, {k}, {m.Width}]");
                w.Line("patch_features = patch_features / patch_features.norm(dim=-1, keepdim=True)  # unit length per token (no epsilon, as the reference)");
                w.Line("class_features = class_features / class_features.norm(dim=-1, keepdim=True)");
                w.Line($"masks = self.mask_norm(patch_features @ class_features.transpose(1, 2))  # [B, N, {k}]");
                w.Line("return masks.transpose(1, 2).reshape(masks.shape[0], NUM_CLASSES, grid_height, grid_width)");
            }
            w.Line();
            WriteAttention(w, "patches", "Decoder.LAYERS", "decoder", $"[B, {m.Heads}, N + {k}, N + {k}]");
            w.Line();
            using (Def(w, "def embed(self, patches):"))
            {
                w.Line($"x = self.proj_dec(patches)  # [B, N, {m.Width}]");
                w.Line($"return torch.cat([x, self.cls_emb.expand(x.shape[0], -1, -1)], dim=1)  # [B, N + {k}, {m.Width}]");
            }
        }
    }

    private static void WriteModel(SourceWriter w, SegmenterSpec spec)
    {
        int k = spec.NumClasses, p = spec.PatchSize;
        using (Def(w, $"class {PyTorchEmitter.ClassName(spec.Name)}(nn.Module):"))
        {
            w.Line($"\"\"\"{spec.Name}: logits [B, {k}, H, W] for normalised images [B, 3, H, W] of any size.\"\"\"");
            w.Line();
            w.Line("spec = SPEC");
            w.Line();
            using (Def(w, "def __init__(self):"))
            {
                w.Line("super().__init__()");
                w.Line("self.encoder = Encoder()");
                w.Line("self.decoder = Decoder()");
            }
            w.Line();
            using (Def(w, "def forward(self, images):"))
            {
                w.Line("_check_images(images)");
                w.Line("height, width = images.shape[2], images.shape[3]");
                w.Line($"padded = F.pad(images, (0, (-width) % PATCH_SIZE, 0, (-height) % PATCH_SIZE))  # [B, 3, H', W'], right and bottom padded to multiples of {p}");
                w.Line("grid_height, grid_width = padded.shape[2] // PATCH_SIZE, padded.shape[3] // PATCH_SIZE");
                w.Line($"tokens = self.encoder(padded)  # [B, {spec.ExtraTokens} + N, {spec.Backbone.Width}]");
                w.Line($"masks = self.decoder(tokens[:, EXTRA_TOKENS:], grid_height, grid_width)  # [B, {k}, H'/{p}, W'/{p}]");
                w.Line("logits = F.interpolate(masks, size=(padded.shape[2], padded.shape[3]), mode=\"bilinear\", align_corners=False)");
                w.Line($"return logits[:, :, :height, :width]  # [B, {k}, H, W]");
            }
            w.Line();
            using (Def(w, "def encoder_attention(self, images, layer):"))
            {
                w.Line("\"\"\"The softmax attention of encoder block `layer` for images (not padded): [B, heads, T, T].\"\"\"");
                w.Line("_check_images(images)");
                w.Line("return self.encoder.attention(images, layer)");
            }
            if (spec.Decoder.Kind == DecoderKind.Mask)
            {
                w.Line();
                using (Def(w, "def decoder_attention(self, images, layer):"))
                {
                    w.Line("\"\"\"The softmax attention of mask-decoder block `layer` for images (not padded): [B, heads, N + K, N + K].\"\"\"");
                    w.Line("_check_images(images)");
                    w.Line("tokens = self.encoder(images)");
                    w.Line("return self.decoder.attention(tokens[:, EXTRA_TOKENS:], layer)");
                }
            }
        }
    }

    /// <summary>
    /// The <c>attention(input, layer)</c> method an encoder and a mask decoder share: the input embedded, the blocks
    /// before <c>layer</c> run, then that block's softmax attention, of shape <paramref name="shape"/>.
    /// </summary>
    private static void WriteAttention(SourceWriter w, string input, string layers, string part, string shape)
    {
        using (Def(w, $"def attention(self, {input}, layer):"))
        {
            w.Line($"\"\"\"The softmax attention of block `layer`: {shape}.\"\"\"");
            w.Line($"_check_layer(layer, {layers}, \"{part}\")");
            w.Line($"x = self.embed({input})");
            using (Def(w, "for block in self.blocks[:layer]:")) w.Line("x = block(x)");
            w.Line("return self.blocks[layer].attention(x)");
        }
    }

    /// <summary>A Python block: the header line, then an indented body until disposed.</summary>
    private static IDisposable Def(SourceWriter w, string header) => w.Indented(header);
}
