using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Training;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// Where the time of training steps went: zeroing the gradients, the shards' forward passes with the loss, their backward
/// passes and the adding of their gradients (each the mean over the shard threads), the shard threads' waiting for one
/// another, and the optimiser's update. The stages add up to the step's time. Each shard's own times are kept too,
/// which shows a shard that is slower than the others.
/// </summary>
internal sealed class TrainingProfile
{
    public const string Zeroing = "zeroing gradients", Forward = "forward and loss", Backward = "backward", Adding = "adding gradients",
        Waiting = "shard threads waiting for one another", Update = "optimizer update";

    private readonly Dictionary<string, double> milliseconds = new();
    private readonly List<ShardTimes> shards = new();   // per shard: its times summed over the steps

    /// <summary>Adds one step: its phases' times as the caller measured them, and the shards' from <see cref="ShardedStep.LastTimes"/>.</summary>
    public void Add(double zeroingMs, double accumulateMs, double updateMs, IReadOnlyList<ShardTimes> times)
    {
        var running = times.Where(t => t.TotalMs > 0).ToArray();
        double forward = running.Length == 0 ? 0 : running.Average(t => t.ForwardMs);
        double backward = running.Length == 0 ? 0 : running.Average(t => t.BackwardMs);
        double adding = running.Length == 0 ? 0 : running.Average(t => t.AddMs);
        Accumulate(Zeroing, zeroingMs);
        Accumulate(Forward, forward);
        Accumulate(Backward, backward);
        Accumulate(Adding, adding);
        Accumulate(Waiting, Math.Max(0, accumulateMs - forward - backward - adding));
        Accumulate(Update, updateMs);
        while (shards.Count < times.Count) shards.Add(new ShardTimes(0, 0, 0, 0, 0, ComputeCpuMs: 0));   // a processor time unknown in any step stays unknown
        for (int i = 0; i < times.Count; i++)
        {
            var (sum, step) = (shards[i], times[i]);
            shards[i] = new ShardTimes(step.Images, sum.ForwardMs + step.ForwardMs, sum.BackwardMs + step.BackwardMs, sum.WaitMs + step.WaitMs, sum.AddMs + step.AddMs,
                sum.ComputeCpuMs + step.ComputeCpuMs);
        }
    }

    public void Reset()
    {
        milliseconds.Clear();
        shards.Clear();
    }

    /// <summary>Milliseconds per step by stage.</summary>
    public IReadOnlyDictionary<string, double> PerRun(int runs) =>
        new[] { Zeroing, Forward, Backward, Adding, Waiting, Update }.ToDictionary(stage => stage, stage => milliseconds.GetValueOrDefault(stage) / runs);

    /// <summary>Each shard's images and milliseconds per step: its forward pass and loss, backward pass, wait for its turn, and adding of its gradients.</summary>
    public IReadOnlyList<ShardTimes> ShardsPerRun(int runs) =>
        shards.Select(s => new ShardTimes(s.Images, s.ForwardMs / runs, s.BackwardMs / runs, s.WaitMs / runs, s.AddMs / runs, s.ComputeCpuMs / runs)).ToArray();

    private void Accumulate(string stage, double ms) => milliseconds[stage] = milliseconds.GetValueOrDefault(stage) + ms;
}
