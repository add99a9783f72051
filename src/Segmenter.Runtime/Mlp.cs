using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The transformer MLP: fc1, exact (erf) GELU, dropout, fc2, dropout — the reference's <c>FeedForward</c>.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Dropout? drop;
    private readonly ReducedPrecisionLinear fc1Reduced = new(), fc2Reduced = new();

    /// <summary>Creates the layer (weights are initialised by <see cref="Initialization.Reference"/>).</summary>
    public Mlp(long width, long hiddenWidth, double dropout) : base("mlp")
    {
        fc1 = nn.Linear(width, hiddenWidth);
        fc2 = nn.Linear(hiddenWidth, width);
        if (dropout > 0) drop = nn.Dropout(dropout);
        RegisterComponents();
    }

    /// <summary>The precision of the two products at inference (call after the weights are loaded).</summary>
    public void SetPrecision(ComputePrecision precision)
    {
        fc1Reduced.Set(fc1, precision);
        fc2Reduced.Set(fc2, precision);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fc1Reduced.Dispose();
            fc2Reduced.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (!training && fc1Reduced.Active)
        {
            // bfloat16 products; GELU and the result in float32.
            using var hidden = fc1Reduced.Call(x).to(ScalarType.Float32);
            using var activated = nn.functional.gelu(hidden);
            return fc2Reduced.Call(activated).to(ScalarType.Float32);
        }
        x = nn.functional.gelu(fc1.call(x));
        if (drop is not null) x = drop.call(x);
        x = fc2.call(x);
        return drop is null ? x : drop.call(x);
    }
}
