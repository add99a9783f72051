using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The reference's initialisation (REFERENCE.md §5).</summary>
public static class Initialization
{
    /// <summary>
    /// Every Linear below <paramref name="module"/>: weights truncated normal (std 0.02, bounds ±2), biases 0;
    /// every LayerNorm: weight 1, bias 0 (the reference's <c>init_weights</c>, applied with <c>module.apply</c>).
    /// Convolutions keep PyTorch's default initialisation.
    /// </summary>
    public static void Reference(nn.Module module)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, child) in module.named_modules())
        {
            switch (child)
            {
                case Linear linear:
                    nn.init.trunc_normal_(linear.weight, 0.0, 0.02, -2.0, 2.0);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case LayerNorm norm:
                    nn.init.ones_(norm.weight);
                    if (norm.bias is not null) nn.init.zeros_(norm.bias);
                    break;
            }
        }
    }

    /// <summary>Truncated normal (std <paramref name="std"/>, bounds ±2) in place, as for tokens and position embeddings.</summary>
    public static void TruncatedNormal(Tensor parameter, double std = 0.02)
    {
        using var noGrad = torch.no_grad();
        nn.init.trunc_normal_(parameter, 0.0, std, -2.0, 2.0);
    }

    /// <summary>A [rows, columns] matrix of standard normal values scaled by columns^-0.5 (the mask decoder's proj_patch / proj_classes).</summary>
    public static Tensor ScaledNormal(long rows, long columns) =>
        torch.randn(rows, columns).mul_(System.Math.Pow(columns, -0.5));
}
