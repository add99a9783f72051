using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using Segmenter.Runtime;
using Segmenter.Runtime.Vectors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Training;

/// <summary>
/// SGD with (Nesterov) momentum and weight decay, with PyTorch's update rule (dampening 0):
/// g ← ∇ + λ·p; b ← μ·b + g; p ← p − lr·(g + μ·b) (Nesterov) or p ← p − lr·b.
/// Written here rather than taken from TorchSharp because its managed optimisers pass temporary
/// scalars to native code (see <see cref="Scalars"/>), and because momentum buffers kept by
/// parameter name can be checkpointed as ordinary tensors.
/// </summary>
public sealed class NesterovSgd : IDisposable
{
    /// <summary>The prefix of momentum buffers in a checkpoint.</summary>
    public const string StatePrefix = "optimizer.momentum_buffer.";

    private readonly IReadOnlyList<(string Name, Parameter Parameter)> parameters;
    private readonly Dictionary<string, Tensor> buffers = new(StringComparer.Ordinal);
    private readonly double momentum;
    private readonly double weightDecay;
    private readonly bool nesterov;

    /// <summary>An optimiser over the model's named parameters.</summary>
    public NesterovSgd(IEnumerable<(string Name, Parameter Parameter)> parameters, double learningRate, double momentum = 0.9, double weightDecay = 0, bool nesterov = true)
    {
        if (nesterov && momentum <= 0) throw new ArgumentException("Nesterov momentum needs a positive momentum");
        this.parameters = parameters.Where(p => p.Parameter.requires_grad).ToList();
        LearningRate = learningRate;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
    }

    /// <summary>The learning rate of the next step.</summary>
    public double LearningRate { get; set; }

    /// <summary>Clears the gradients.</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope();   // each .grad and in-place call returns a new handle; free them now
        foreach (var (_, parameter) in parameters)
        {
            if (parameter.grad is { } grad)
            {
                grad.detach_();
                grad.zero_();
            }
        }
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var step = (-LearningRate).ToScalar();
        using var decay = weightDecay.ToScalar();
        using var mu = momentum.ToScalar();
        var fused = new List<(Tensor Parameter, Tensor Gradient, Tensor Buffer)>();
        foreach (var (name, parameter) in parameters)
        {
            var gradient = parameter.grad;
            if (gradient is null) continue;
            if (momentum != 0 && buffers.TryGetValue(name, out var existing) && Fusable(parameter, gradient, existing))
            {
                fused.Add((parameter, gradient, existing));
                continue;
            }
            if (weightDecay != 0) gradient = gradient.add(parameter, decay);
            if (momentum != 0)
            {
                if (!buffers.TryGetValue(name, out var buffer))
                {
                    buffer = gradient.detach().clone().DetachFromDisposeScope();   // lives as long as the optimiser, whatever scope Step runs in
                    buffers[name] = buffer;
                }
                else
                {
                    buffer.mul_(mu).add_(gradient, Scalars.One);
                }
                gradient = nesterov ? gradient.add(buffer, mu) : buffer;
            }
            parameter.add_(gradient, step);
        }
        if (fused.Count > 0) StepFused(fused);
    }

    /// <summary>
    /// Contiguous float32 tensors on the CPU, with a momentum buffer: updated in one pass over memory by <see cref="Update{TLanes, TVector}"/>
    /// instead of four libtorch calls per parameter (which, for Seg-T/16's 152 parameters, cost more in calls than in arithmetic).
    /// </summary>
    private static bool Fusable(Tensor parameter, Tensor gradient, Tensor buffer) =>
        Lanes.Widest > 0
        && parameter.device_type == DeviceType.CPU && gradient.device_type == DeviceType.CPU && buffer.device_type == DeviceType.CPU
        && parameter.dtype == ScalarType.Float32 && gradient.dtype == ScalarType.Float32 && buffer.dtype == ScalarType.Float32
        && parameter.is_contiguous() && gradient.is_contiguous() && buffer.is_contiguous()
        && parameter.numel() == gradient.numel() && parameter.numel() == buffer.numel();

    /// <summary>Elements one task updates: large enough that a task's cost is its memory traffic.</summary>
    private const long Chunk = 1 << 16;

    private unsafe void StepFused(List<(Tensor Parameter, Tensor Gradient, Tensor Buffer)> fused)
    {
        var pieces = new List<(IntPtr P, IntPtr G, IntPtr B, long Start, long Count)>();
        foreach (var (parameter, gradient, buffer) in fused)
        {
            IntPtr p = TensorMemory.Address(parameter), g = TensorMemory.Address(gradient), b = TensorMemory.Address(buffer);
            for (long start = 0, n = parameter.numel(); start < n; start += Chunk)
                pieces.Add((p, g, b, start, Math.Min(Chunk, n - start)));
        }
        var rule = new Rule((float)-LearningRate, (float)momentum, (float)weightDecay, nesterov);
        int lanes = Lanes.Widest;
        Parallel.For(0, pieces.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) }, i =>
        {
            var (p, g, b, start, count) = pieces[i];
            float* pp = (float*)p + start, gp = (float*)g + start, bp = (float*)b + start;
            switch (lanes)
            {
                case 16: Update<Lanes512, Vector512<float>>(pp, gp, bp, count, rule); break;
                case 8: Update<Lanes256, Vector256<float>>(pp, gp, bp, count, rule); break;
                default: Update<Lanes128, Vector128<float>>(pp, gp, bp, count, rule); break;
            }
        });
    }

    /// <summary>The update's constants as float32, as libtorch takes them.</summary>
    private readonly record struct Rule(float Step, float Momentum, float Decay, bool Nesterov);

    /// <summary>
    /// The update of <see cref="Step"/> for one run of elements, rounded as libtorch rounds it, so the result is the same
    /// bit for bit: g′ = fma(p, λ, g); b = (b·μ) + g′; d = fma(b, μ, g′) (Nesterov) or b; p = fma(d, −lr, p). libtorch's
    /// add with a factor is a fused multiply-add, its multiplication by a number is not.
    /// </summary>
    private static unsafe void Update<TLanes, TVector>(float* p, float* g, float* b, long count, Rule rule)
        where TLanes : struct, ILanes<TVector> where TVector : struct
    {
        var step = TLanes.Splat(rule.Step);
        var mu = TLanes.Splat(rule.Momentum);
        var lambda = TLanes.Splat(rule.Decay);
        long i = 0;
        for (; i + TLanes.Count <= count; i += TLanes.Count)
        {
            var parameter = TLanes.Load(p + i);
            var gradient = TLanes.Load(g + i);
            if (rule.Decay != 0) gradient = TLanes.MultiplyAdd(parameter, lambda, gradient);
            var buffer = TLanes.Add(TLanes.Multiply(TLanes.Load(b + i), mu), gradient);
            TLanes.Store(b + i, buffer);
            var direction = rule.Nesterov ? TLanes.MultiplyAdd(buffer, mu, gradient) : buffer;
            TLanes.Store(p + i, TLanes.MultiplyAdd(direction, step, parameter));
        }
        for (; i < count; i++)
        {
            float gradient = g[i];
            if (rule.Decay != 0) gradient = MathF.FusedMultiplyAdd(p[i], rule.Decay, gradient);
            float buffer = b[i] * rule.Momentum + gradient;
            b[i] = buffer;
            float direction = rule.Nesterov ? MathF.FusedMultiplyAdd(buffer, rule.Momentum, gradient) : buffer;
            p[i] = MathF.FusedMultiplyAdd(direction, rule.Step, p[i]);
        }
    }

    /// <summary>The momentum buffers, keyed <see cref="StatePrefix"/> + parameter name.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> State() =>
        buffers.Select(pair => new KeyValuePair<string, Tensor>(StatePrefix + pair.Key, pair.Value));

    /// <summary>
    /// Restores momentum buffers saved by <see cref="State"/> (from <paramref name="source"/>, named in errors): every
    /// buffer must belong to a parameter of the same shape and hold finite floating-point values. A parameter without one
    /// starts its momentum afresh, as in PyTorch (one that never had a gradient has none).
    /// </summary>
    public void Load(IEnumerable<KeyValuePair<string, Tensor>> state, string source)
    {
        var byName = parameters.ToDictionary(p => p.Name, p => p.Parameter);
        var restored = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, value) in state.Where(s => s.Key.StartsWith(StatePrefix, StringComparison.Ordinal)))
            {
                var name = key.Substring(StatePrefix.Length);
                if (!byName.TryGetValue(name, out var parameter))
                    throw new System.IO.InvalidDataException($"{source}: the optimiser state holds '{name}', which is not a parameter of this model; resume with the model the run was started with");
                if (!parameter.shape.SequenceEqual(value.shape))
                    throw new System.IO.InvalidDataException($"{source}: the optimiser state of '{name}' is [{string.Join(", ", value.shape)}], but the parameter is [{string.Join(", ", parameter.shape)}]");
                if (!value.is_floating_point())
                    throw new System.IO.InvalidDataException($"{source}: the optimiser state of '{name}' is {value.dtype}; momentum is floating point, so the file is damaged");
                var buffer = value.to(parameter.dtype, parameter.device, copy: true).DetachFromDisposeScope();
                restored[name] = buffer;   // disposed with the others if this or a later one is refused
                using (var finite = buffer.isfinite())   // as the parameter's type holds it (float64 1e300 is infinite in float32)
                using (var all = finite.all())
                    if (!all.item<bool>())
                        throw new System.IO.InvalidDataException($"{source}: the optimiser state of '{name}' holds NaN or infinite values; a run never saves them, so the file is damaged");
            }
        }
        catch
        {
            foreach (var buffer in restored.Values) buffer.Dispose();
            throw;
        }
        foreach (var (name, buffer) in restored)
        {
            if (buffers.Remove(name, out var old)) old.Dispose();
            buffers[name] = buffer;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var buffer in buffers.Values) buffer.Dispose();
        buffers.Clear();
    }
}
