"""A stand-in for a generated model.py (tests only): the same contract, a tiny ViT with a linear decoder.

SPEC / SPEC_TEXT / create_model() as `segmenter emit --target pytorch` writes them; state-dict keys
named as the .NET model's (encoder.cls_token, encoder.blocks.0.attn.qkv.weight, decoder.head.weight, …).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SPEC = {
    "name": "TinyTest",
    "paperName": None,
    "backbone": {"name": "TinyBackbone", "layers": 2, "width": 32, "heads": 2, "mlpWidth": 64, "distilled": False},
    "patch": 8,
    "image": [32, 32],
    "grid": [4, 4],
    "extraTokens": 1,
    "classes": 3,
    "classNames": ["background", "square", "disc"],
    "dataset": None,
    "decoder": {"kind": "linear", "layers": 0, "width": 32, "heads": 0, "mlpWidth": 0, "dropout": 0.0, "dropPath": 0.0},
    "dropPath": 0.0,
    "dropout": 0.0,
    "normalization": {"name": "vit", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
    "layerNormEpsilon": 1e-6,
    "positionEmbeddingResize": "bilinear",
}

SPEC_TEXT = """backbone TinyBackbone { layers = 2  width = 32  heads = 2  mlp = 64 }

model TinyTest {
  backbone = TinyBackbone
  patch    = 8
  image    = 32
  classes  = ("background", "square", "disc")
  decoder  = linear
}
"""


class Attention(nn.Module):
    def __init__(self, width, heads, dropout):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attention = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        x = (self.drop(attention.softmax(-1)) @ v).transpose(1, 2).reshape(b, n, c)
        return self.drop(self.proj(x))


class Mlp(nn.Module):
    def __init__(self, width, hidden, dropout):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, width, heads, hidden, dropout, drop_path, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=eps)
        self.attn = Attention(width, heads, dropout)
        self.norm2 = nn.LayerNorm(width, eps=eps)
        self.mlp = Mlp(width, hidden, dropout)
        self.drop_path = drop_path

    def _path(self, x):
        if not self.training or self.drop_path == 0:
            return x
        keep = (torch.rand(x.shape[0], 1, 1, device=x.device) >= self.drop_path).to(x.dtype)
        return x * keep / (1 - self.drop_path)

    def forward(self, x):
        x = x + self._path(self.attn(self.norm1(x)))
        return x + self._path(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch, width):
        super().__init__()
        self.proj = nn.Conv2d(3, width, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Encoder(nn.Module):
    def __init__(self, spec):
        super().__init__()
        b = spec["backbone"]
        self.patch = spec["patch"]
        self.grid = spec["grid"]
        self.patch_embed = PatchEmbed(self.patch, b["width"])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, b["width"]))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + self.grid[0] * self.grid[1], b["width"]) * 0.02)
        rates = [spec["dropPath"] * i / max(1, b["layers"] - 1) for i in range(b["layers"])]
        self.blocks = nn.ModuleList(Block(b["width"], b["heads"], b["mlpWidth"], spec["dropout"], r, spec["layerNormEpsilon"]) for r in rates)
        self.norm = nn.LayerNorm(b["width"], eps=spec["layerNormEpsilon"])
        self.drop = nn.Dropout(spec["dropout"])

    def forward(self, images):
        b, _, h, w = images.shape
        x = self.patch_embed(images)
        gh, gw = h // self.patch, w // self.patch
        pos = self.pos_embed
        if (gh, gw) != tuple(self.grid):
            grid = pos[:, 1:].reshape(1, self.grid[0], self.grid[1], -1).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(gh, gw), mode="bilinear", align_corners=False).permute(0, 2, 3, 1).reshape(1, gh * gw, -1)
            pos = torch.cat([pos[:, :1], grid], 1)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], 1) + pos
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class LinearDecoder(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.head = nn.Linear(spec["backbone"]["width"], spec["classes"])

    def forward(self, tokens, grid):
        x = self.head(tokens[:, 1:])
        return x.transpose(1, 2).reshape(x.shape[0], -1, grid[0], grid[1])


class Segmenter(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.patch = spec["patch"]
        self.encoder = Encoder(spec)
        self.decoder = LinearDecoder(spec)

    def forward(self, images):
        h, w = images.shape[2:]
        ph, pw = (-h) % self.patch, (-w) % self.patch
        padded = F.pad(images, (0, pw, 0, ph))
        grid = (padded.shape[2] // self.patch, padded.shape[3] // self.patch)
        masks = self.decoder(self.encoder(padded), grid)
        masks = F.interpolate(masks, size=padded.shape[2:], mode="bilinear", align_corners=False)
        return masks[:, :, :h, :w]


def create_model():
    return Segmenter(SPEC)
