using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The transformer MLP: fc1, exact (erf) GELU, dropout, fc2, dropout — the reference's <c>FeedForward</c>.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>, IReducedPrecision
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly SampleDropout? drop;
    private readonly ReducedPrecisionLinear fc1Reduced, fc2Reduced;

    /// <summary>Creates the layer (weights are initialised by <see cref="Initialization.Reference"/>).</summary>
    public Mlp(long width, long hiddenWidth, double dropout) : base("mlp")
    {
        fc1 = nn.Linear(width, hiddenWidth);
        fc2 = nn.Linear(hiddenWidth, width);
        if (dropout > 0) drop = new SampleDropout(dropout);
        RegisterComponents();
        fc1Reduced = new ReducedPrecisionLinear(fc1);
        fc2Reduced = new ReducedPrecisionLinear(fc2);
    }

    /// <summary>The precision of the two products (call after the weights are loaded; again to refresh the inference copy).</summary>
    public void SetPrecision(ComputePrecision precision)
    {
        fc1Reduced.Set(precision);
        fc2Reduced.Set(precision);
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
        if (fc1Reduced.Active)
        {
            // bfloat16 products, and GELU between them in bfloat16 as autocast runs it (no round trip through float32); the result in float32.
            var hidden = nn.functional.gelu(fc1Reduced.Call(x, training));
            if (drop is not null) hidden = drop.call(hidden);
            var output = fc2Reduced.Call(hidden, training).to(ScalarType.Float32);
            return drop is null ? output : drop.call(output);
        }
        x = nn.functional.gelu(fc1.call(x));
        if (drop is not null) x = drop.call(x);
        x = fc2.call(x);
        return drop is null ? x : drop.call(x);
    }
}
