using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Training;

namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// Where the time of training steps went: zeroing the gradients, the shards' forward passes with the loss, their backward
/// passes and the adding of their gradients (each the mean over the shard threads), the shard threads' waiting for one
/// another, the optimiser's update, and the rest. The stages add up to the step's time. Each shard's own times are kept too,
/// which shows a shard that is slower than the others.
/// </summary>
internal sealed class TrainingProfile
{
    public const string Zeroing = "zeroing gradients", Forward = "forward and loss", Backward = "backward", Adding = "adding gradients",
        Waiting = "shard threads waiting for one another", Update = "optimizer update", Other = "other";

    private readonly Dictionary<string, double> milliseconds = new();
    private readonly List<double[]> shards = new();   // per shard: images, forward, backward, wait, add (sums over the steps)

    /// <summary>Adds one step: its phases' times as the caller measured them, and the shards' from <see cref="ShardedStep.LastTimes"/>.</summary>
    public void Add(double zeroingMs, double accumulateMs, double updateMs, double stepMs, IReadOnlyList<ShardTimes> times)
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
        Accumulate(Other, Math.Max(0, stepMs - zeroingMs - accumulateMs - updateMs));
        while (shards.Count < times.Count) shards.Add(new double[5]);
        for (int i = 0; i < times.Count; i++)
        {
            var sums = shards[i];
            sums[0] = times[i].Images;
            sums[1] += times[i].ForwardMs;
            sums[2] += times[i].BackwardMs;
            sums[3] += times[i].WaitMs;
            sums[4] += times[i].AddMs;
        }
    }

    public void Reset()
    {
        milliseconds.Clear();
        shards.Clear();
    }

    /// <summary>Milliseconds per step by stage.</summary>
    public IReadOnlyDictionary<string, double> PerRun(int runs) =>
        new[] { Zeroing, Forward, Backward, Adding, Waiting, Update, Other }.ToDictionary(stage => stage, stage => milliseconds.GetValueOrDefault(stage) / runs);

    /// <summary>Each shard's images and milliseconds per step: its forward pass and loss, backward pass, wait for its turn, and adding of its gradients.</summary>
    public IReadOnlyList<ShardTimes> ShardsPerRun(int runs) =>
        shards.Select(s => new ShardTimes((long)s[0], s[1] / runs, s[2] / runs, s[3] / runs, s[4] / runs)).ToArray();

    private void Accumulate(string stage, double ms) => milliseconds[stage] = milliseconds.GetValueOrDefault(stage) + ms;
}
