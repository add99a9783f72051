using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// Multi-head self-attention with one fused qkv projection, as the reference's <c>Attention</c>:
/// the qkv output viewed as [B, T, 3, h, D/h] gives q, k, v; softmax(q·kᵀ / √(D/h))·v; heads merged; proj.
/// Uses torch's fused scaled_dot_product_attention, which computes the same thing.
/// </summary>
public sealed class SelfAttention : nn.Module<Tensor, Tensor>, IReducedPrecision
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly SampleDropout? proj_drop;
    private readonly long width;
    private readonly long heads;
    private readonly double dropout;
    private readonly ReducedPrecisionLinear qkvReduced, projReduced;

    /// <summary>Creates the layer (weights are initialised by <see cref="Initialization.Reference"/>).</summary>
    public SelfAttention(long width, long heads, double dropout) : base("attn")
    {
        this.width = width;
        this.heads = heads;
        this.dropout = dropout;
        qkv = nn.Linear(width, 3 * width);
        proj = nn.Linear(width, width);
        if (dropout > 0) proj_drop = new SampleDropout(dropout);
        RegisterComponents();
        qkvReduced = new ReducedPrecisionLinear(qkv);
        projReduced = new ReducedPrecisionLinear(proj);
    }

    /// <summary>The precision of the products (call after the weights are loaded; again to refresh the inference copy).</summary>
    public void SetPrecision(ComputePrecision precision)
    {
        qkvReduced.Set(precision);
        projReduced.Set(precision);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            qkvReduced.Dispose();
            projReduced.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (qkvReduced.Active)
        {
            // q, k, v in bfloat16; the attention too at inference (the fused kernel accumulates its softmax in float32), but in
            // float32 in training: libtorch's fused bfloat16 attention back-propagates too coarsely to train on. On the
            // quickstart's recipe a bf16 run ended at 15.43 mIoU with it, at 90.28 with float32 attention (float32 throughout: 90.31).
            long batch = x.shape[0], tokens = x.shape[1];
            var projected = qkvReduced.Call(x, training);
            if (training) projected = projected.to(ScalarType.Float32);
            var parts = projected.view(batch, tokens, 3, heads, width / heads).permute(2, 0, 3, 1, 4).unbind(0);
            var attended = Attend(parts[0], parts[1], parts[2]);
            var output = projReduced.Call(attended.transpose(1, 2).reshape(batch, tokens, width), training).to(ScalarType.Float32);
            return proj_drop is null ? output : proj_drop.call(output);
        }
        var (q, k, v) = Split(x);
        var y = Attend(q, k, v);                                                                    // [B, h, T, D/h]
        y = proj.call(y.transpose(1, 2).reshape(x.shape[0], x.shape[1], width));                   // [B, T, D]
        return proj_drop is null ? y : proj_drop.call(y);
    }

    /// <summary>
    /// softmax(q·kᵀ / √(D/h))·v. Without dropout (inference, or a rate of 0) libtorch's fused kernel computes it; in training
    /// with dropout the weights are formed and dropped as the reference drops them, with masks from <see cref="SampleRandomness"/>
    /// (the fused kernel draws its own from the global generator). The softmax is taken in float32 whatever q's type.
    /// </summary>
    private Tensor Attend(Tensor q, Tensor k, Tensor v)
    {
        if (!training || dropout == 0) return Fused(q, k, v);
        using var scope = NewDisposeScope();
        var scale = 1.0 / System.Math.Sqrt(width / heads);
        var weights = q.matmul(k.transpose(-2, -1)).mul_(Scalars.Of(scale)).softmax(-1, ScalarType.Float32).to(q.dtype);
        var mask = SampleRandomness.ScaledKeepMask(weights.shape, 1 - dropout, weights.dtype, weights.device);
        return weights.mul(mask).matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Query rows libtorch's fused CPU kernel (2.10) takes as one piece of work once there are at least 768 of them; its
    /// threads share out the (image, head, block) pieces.
    /// </summary>
    private const long FusedBlockRows = 256;

    /// <summary>
    /// libtorch's fused attention; on the CPU, when its threads cannot share the (image, head) pairs evenly, the query rows
    /// beyond whole blocks (the class token of 32 × 32 patches: 1025 = 4 × 256 + 1) are taken in a call of their own. libtorch
    /// gives each thread an equal run of (image, head, block) pieces; in one call each pair has four full blocks and one of a
    /// single row, and two threads given Seg-T/16's 15 pieces (batch 1, three heads) take seven full ones and five. Split,
    /// a layer took 3.3 ms against 3.8 ms (2 threads, 512²). Every query row's result is computed as before, over the same keys.
    /// </summary>
    private static Tensor Fused(Tensor q, Tensor k, Tensor v)
    {
        long pairs = q.shape[0] * q.shape[1], rows = q.shape[2], rest = rows % FusedBlockRows;
        int threads = get_num_threads();
        if (q.device_type != TorchSharp.DeviceType.CPU || threads < 2 || pairs % threads == 0 || rows < 3 * FusedBlockRows || rest == 0)
            return nn.functional.scaled_dot_product_attention(q, k, v);
        using var scope = NewDisposeScope();
        return cat(new[]
        {
            nn.functional.scaled_dot_product_attention(q.narrow(2, 0, rest), k, v),
            nn.functional.scaled_dot_product_attention(q.narrow(2, rest, rows - rest), k, v),
        }, 2).MoveToOuterDisposeScope();
    }

    /// <summary>The softmax attention weights [B, h, T, T] (before dropout), as the reference returns them.</summary>
    public Tensor Weights(Tensor x)
    {
        var (q, k, _) = Split(x);
        var scale = 1.0 / System.Math.Sqrt(width / heads);
        return q.matmul(k.transpose(-2, -1)).mul_(Scalars.Of(scale)).softmax(-1);
    }

    private (Tensor Q, Tensor K, Tensor V) Split(Tensor x)
    {
        long batch = x.shape[0], tokens = x.shape[1];
        var parts = qkv.call(x).view(batch, tokens, 3, heads, width / heads).permute(2, 0, 3, 1, 4).unbind(0);  // 3 × [B, h, T, D/h]
        return (parts[0], parts[1], parts[2]);
    }
}
