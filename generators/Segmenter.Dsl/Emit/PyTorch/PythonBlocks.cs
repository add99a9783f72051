namespace Segmenter.Dsl.Emit.PyTorch;

/// <summary>
/// The building blocks every emitted module holds (the file is self-contained): the reference's initialisation,
/// drop-path, attention (fused where torch has it, an explicit path on torch 1.13), MLP, transformer block, patch
/// embedding and position-embedding resizing. They mirror the TorchSharp runtime's blocks one for one.
/// </summary>
internal static class PythonBlocks
{
    public const string Source = """"
        _FUSED_ATTENTION = hasattr(F, "scaled_dot_product_attention")  # torch >= 2.0


        def _trunc_normal_(tensor, std=0.02, low=-2.0, high=2.0):
            """Fills `tensor` with N(0, std^2) truncated to [low, high] (absolute bounds) by the inverse CDF, as timm."""
            with torch.no_grad():
                lower = (1.0 + math.erf(low / std / math.sqrt(2.0))) / 2.0
                upper = (1.0 + math.erf(high / std / math.sqrt(2.0))) / 2.0
                tensor.uniform_(2.0 * lower - 1.0, 2.0 * upper - 1.0)
                tensor.erfinv_()
                tensor.mul_(std * math.sqrt(2.0))
                tensor.clamp_(low, high)
            return tensor


        def _init_weights(module):
            """The reference's init_weights on every submodule: Linear weights truncated normal (std 0.02), biases 0;
            LayerNorm weights 1, biases 0. Convolutions keep PyTorch's default initialisation."""
            for child in module.modules():
                if isinstance(child, nn.Linear):
                    _trunc_normal_(child.weight)
                    if child.bias is not None:
                        nn.init.zeros_(child.bias)
                elif isinstance(child, nn.LayerNorm):
                    nn.init.ones_(child.weight)
                    nn.init.zeros_(child.bias)


        def _drop_path_rates(rate, layers):
            """Stochastic-depth rates rising linearly from 0 at the first block to `rate` at the last."""
            return [0.0 if layers == 1 else rate * i / (layers - 1) for i in range(layers)]


        def _dropout(rate):
            return nn.Dropout(rate) if rate > 0 else nn.Identity()


        class DropPath(nn.Module):
            """In training, zeroes a whole residual branch per sample with probability `rate`; scales the rest by 1 / (1 - rate)."""

            def __init__(self, rate):
                super().__init__()
                self.rate = rate

            def forward(self, x):
                if not self.training or self.rate == 0.0:
                    return x
                keep = 1.0 - self.rate
                mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep).div_(keep)  # [B, 1, ...]
                return x * mask


        class Attention(nn.Module):
            """Multi-head self-attention with one fused qkv projection: softmax(q k^T / sqrt(D/h)) v, heads merged, proj."""

            def __init__(self, width, heads, dropout):
                super().__init__()
                self.heads = heads
                self.head_width = width // heads
                self.dropout = dropout
                self.qkv = nn.Linear(width, 3 * width)
                self.proj = nn.Linear(width, width)
                self.proj_drop = _dropout(dropout)

            def _split(self, x):
                batch, tokens, width = x.shape
                qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, self.head_width).permute(2, 0, 3, 1, 4)
                return qkv.unbind(0)  # 3 x [B, h, T, D/h]

            def forward(self, x):
                batch, tokens, width = x.shape
                q, k, v = self._split(x)
                p = self.dropout if self.training else 0.0
                if _FUSED_ATTENTION:
                    y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
                else:
                    weights = (q @ k.transpose(-2, -1)) * (self.head_width ** -0.5)
                    y = F.dropout(weights.softmax(dim=-1), p) @ v
                y = y.transpose(1, 2).reshape(batch, tokens, width)  # [B, T, D]
                return self.proj_drop(self.proj(y))

            def weights(self, x):
                """The softmax attention weights [B, h, T, T] (before dropout), as the reference returns them."""
                q, k, _ = self._split(x)
                return ((q @ k.transpose(-2, -1)) * (self.head_width ** -0.5)).softmax(dim=-1)


        class Mlp(nn.Module):
            """fc1, exact (erf) GELU, dropout, fc2, dropout."""

            def __init__(self, width, hidden_width, dropout):
                super().__init__()
                self.fc1 = nn.Linear(width, hidden_width)
                self.fc2 = nn.Linear(hidden_width, width)
                self.drop = _dropout(dropout)

            def forward(self, x):
                return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


        class Block(nn.Module):
            """A pre-norm transformer block: x + DropPath(Attn(LN1(x))), then x + DropPath(MLP(LN2(x)))."""

            def __init__(self, width, heads, mlp_width, dropout, drop_path, eps):
                super().__init__()
                self.norm1 = nn.LayerNorm(width, eps=eps)
                self.norm2 = nn.LayerNorm(width, eps=eps)
                self.attn = Attention(width, heads, dropout)
                self.mlp = Mlp(width, mlp_width, dropout)
                self.drop_path = DropPath(drop_path)

            def forward(self, x):
                x = x + self.drop_path(self.attn(self.norm1(x)))
                return x + self.drop_path(self.mlp(self.norm2(x)))

            def attention(self, x):
                return self.attn.weights(self.norm1(x))


        def _blocks(layers, width, heads, mlp_width, dropout, drop_path_rate):
            rates = _drop_path_rates(drop_path_rate, layers)
            return nn.ModuleList([Block(width, heads, mlp_width, dropout, rate, LAYER_NORM_EPS) for rate in rates])


        class PatchEmbedding(nn.Module):
            """A PxP convolution with stride P, flattened row-major into tokens [B, N, D]."""

            def __init__(self, channels, width, patch_size):
                super().__init__()
                self.proj = nn.Conv2d(channels, width, kernel_size=patch_size, stride=patch_size)

            def forward(self, images):
                return self.proj(images).flatten(2).transpose(1, 2)


        def _resize_pos_embed(pos_embed, grid_height, grid_width, mode):
            """The position embedding for a grid_height x grid_width grid: extra tokens kept, the grid part interpolated
            (align_corners=False). Always interpolated, even to the same grid (exactly the identity then), so a traced or
            compiled graph has no branch on the input size."""
            tokens = pos_embed[:, :EXTRA_TOKENS]
            grid = pos_embed[:, EXTRA_TOKENS:].reshape(1, GRID_HEIGHT, GRID_WIDTH, -1).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(grid_height, grid_width), mode=mode, align_corners=False)
            grid = grid.permute(0, 2, 3, 1).reshape(1, grid_height * grid_width, -1)
            return torch.cat([tokens, grid], dim=1)


        def _check_layer(layer, layers, part):
            if not 0 <= layer < layers:
                raise ValueError(f"{part} layer {layer} does not exist: the {part} has layers 0 to {layers - 1}")


        def _check_images(images):
            if images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"expected normalised images [B, 3, H, W], got a tensor of shape {list(images.shape)}")
        """";
}
