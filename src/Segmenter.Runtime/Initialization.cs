using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The reference implementation's initialisation.</summary>
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
                    TruncatedNormal(linear.weight);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case LayerNorm norm:
                    nn.init.ones_(norm.weight);
                    if (norm.bias is not null) nn.init.zeros_(norm.bias);
                    break;
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="tensor"/> in place with a normal distribution of mean 0 and standard deviation
    /// <paramref name="std"/> truncated to [<paramref name="low"/>, <paramref name="high"/>] (absolute bounds, as
    /// timm's and the reference's <c>trunc_normal_</c>), by the inverse-CDF method PyTorch uses.
    /// TorchSharp 0.107's <c>nn.init.trunc_normal_</c> cannot be used: it swaps mean and std and fills a
    /// zero-mean tensor with the constant <paramref name="std"/>.
    /// </summary>
    public static void TruncatedNormal(Tensor tensor, double std = 0.02, double low = -2.0, double high = 2.0)
    {
        using var noGrad = torch.no_grad();
        double lower = NormalCdf(low / std), upper = NormalCdf(high / std);
        tensor.uniform_(2 * lower - 1, 2 * upper - 1);
        tensor.erfinv_();
        using var scale = (std * System.Math.Sqrt(2.0)).ToScalar();
        using var lowest = low.ToScalar();
        using var highest = high.ToScalar();
        tensor.mul_(scale);
        tensor.clamp_(lowest, highest);
    }

    private static double NormalCdf(double x)
    {
        using var value = torch.tensor(x / System.Math.Sqrt(2.0), ScalarType.Float64);
        using var erf = value.erf();
        return (1.0 + erf.item<double>()) / 2.0;
    }

    /// <summary>A [rows, columns] matrix of standard normal values scaled by columns^-0.5 (the mask decoder's proj_patch / proj_classes).</summary>
    public static Tensor ScaledNormal(long rows, long columns) =>
        torch.randn(rows, columns).mul_(Scalars.Of(System.Math.Pow(columns, -0.5)));
}
