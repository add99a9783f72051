namespace Segmenter.Training;

/// <summary>
/// Where one shard's time went in a <see cref="ShardedStep"/>'s step, in milliseconds: its forward pass and loss, its
/// backward pass (into <c>.grad</c> for the first shard, into gradients of its own for the others), waiting for the shards
/// before it to add their gradients, and adding its own. <see cref="ComputeCpuMs"/> is the processor time its thread used in
/// the forward and backward passes (null where the system does not say): less than their sum when the thread was off its core
/// for part of them, because other work ran there. It counts the shard's own thread only, which is all of a shard's
/// computing when the batch is split; the batch in one pass also runs on libtorch's other threads.
/// </summary>
public readonly record struct ShardTimes(long Images, double ForwardMs, double BackwardMs, double WaitMs, double AddMs, double? ComputeCpuMs = null)
{
    /// <summary>The shard's whole time, from its start to the end of its gradients' addition.</summary>
    public double TotalMs => ForwardMs + BackwardMs + WaitMs + AddMs;
}
