using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>Patch embedding: a P×P convolution with stride P (PyTorch's default init), flattened row-major into tokens [B, N, D].</summary>
public sealed class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;

    /// <summary>Creates the layer.</summary>
    public PatchEmbedding(long channels, long width, long patchSize) : base("patch_embed")
    {
        proj = nn.Conv2d(channels, width, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images) => proj.call(images).flatten(2).transpose(1, 2);
}
