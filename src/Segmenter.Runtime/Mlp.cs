using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The transformer MLP: fc1, exact (erf) GELU, dropout, fc2, dropout — the reference's <c>FeedForward</c>.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Dropout? drop;

    /// <summary>Creates the layer (weights are initialised by <see cref="Initialization.Reference"/>).</summary>
    public Mlp(long width, long hiddenWidth, double dropout) : base("mlp")
    {
        fc1 = nn.Linear(width, hiddenWidth);
        fc2 = nn.Linear(hiddenWidth, width);
        if (dropout > 0) drop = nn.Dropout(dropout);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        x = nn.functional.gelu(fc1.call(x));
        if (drop is not null) x = drop.call(x);
        x = fc2.call(x);
        return drop is null ? x : drop.call(x);
    }
}
