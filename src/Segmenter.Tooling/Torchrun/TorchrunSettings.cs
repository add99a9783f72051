namespace Segmenter.Tooling.Torchrun;

/// <summary>How torchrun starts the PyTorch engine: processes per node, nodes, rendezvous, the Python interpreter.</summary>
public sealed record TorchrunSettings
{
    /// <summary>Processes on this node (one per GPU; on CPUs, gloo processes).</summary>
    public int ProcessesPerNode { get; init; } = 1;

    /// <summary>Nodes (machines) in the job.</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>This node's rank, 0 to <see cref="Nodes"/> − 1.</summary>
    public int NodeRank { get; init; }

    /// <summary>The rank-0 node's address; null on one node (torchrun's standalone rendezvous).</summary>
    public string? MasterAddress { get; init; }

    /// <summary>The rank-0 node's port; null: 29500 on several nodes, a free port (standalone) on one.</summary>
    public int? MasterPort { get; init; }

    /// <summary>The Python interpreter that has torch.</summary>
    public string Python { get; init; } = "python3";
}
