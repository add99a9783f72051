using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Runtime;
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
        foreach (var (name, parameter) in parameters)
        {
            var gradient = parameter.grad;
            if (gradient is null) continue;
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
    }

    /// <summary>The momentum buffers, keyed <see cref="StatePrefix"/> + parameter name.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> State() =>
        buffers.Select(pair => new KeyValuePair<string, Tensor>(StatePrefix + pair.Key, pair.Value));

    /// <summary>
    /// Restores momentum buffers saved by <see cref="State"/> (from <paramref name="source"/>, named in errors);
    /// every buffer must belong to a parameter of the same shape.
    /// </summary>
    public void Load(IEnumerable<KeyValuePair<string, Tensor>> state, string source)
    {
        var byName = parameters.ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (key, value) in state.Where(s => s.Key.StartsWith(StatePrefix, StringComparison.Ordinal)))
        {
            var name = key.Substring(StatePrefix.Length);
            if (!byName.TryGetValue(name, out var parameter))
                throw new System.IO.InvalidDataException($"{source}: the optimiser state holds '{name}', which is not a parameter of this model; resume with the model the run was started with");
            if (!parameter.shape.SequenceEqual(value.shape))
                throw new System.IO.InvalidDataException($"{source}: the optimiser state of '{name}' is [{string.Join(", ", value.shape)}], but the parameter is [{string.Join(", ", parameter.shape)}]");
            if (buffers.Remove(name, out var old)) old.Dispose();
            buffers[name] = value.to(parameter.dtype, parameter.device, copy: true).DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var buffer in buffers.Values) buffer.Dispose();
        buffers.Clear();
    }
}
