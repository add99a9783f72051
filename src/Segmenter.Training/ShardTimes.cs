namespace Segmenter.Training;

/// <summary>
/// Where one shard's time went in a <see cref="ShardedStep"/>'s step, in milliseconds: its forward pass and loss, its
/// backward pass (into <c>.grad</c> for the first shard, into gradients of its own for the others), waiting for the shards
/// before it to add their gradients, and adding its own.
/// </summary>
public readonly record struct ShardTimes(long Images, double ForwardMs, double BackwardMs, double WaitMs, double AddMs)
{
    /// <summary>The shard's whole time, from its start to the end of its gradients' addition.</summary>
    public double TotalMs => ForwardMs + BackwardMs + WaitMs + AddMs;
}
