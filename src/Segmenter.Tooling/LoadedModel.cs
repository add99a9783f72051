using System;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using static TorchSharp.torch;

namespace Segmenter.Tooling;

/// <summary>A model built by <see cref="ModelLoader"/>: the network on its device and what its load did. Disposing frees the network.</summary>
public sealed class LoadedModel : IDisposable
{
    internal LoadedModel(ModelEntry entry, SegmenterModel model, Device device, string? checkpoint, LoadReport? report)
    {
        Entry = entry;
        Model = model;
        Device = device;
        Checkpoint = checkpoint;
        Report = report;
    }

    /// <summary>The model's catalog entry (name, spec, factory).</summary>
    public ModelEntry Entry { get; }

    /// <summary>The network, on <see cref="Device"/>, in training mode as created.</summary>
    public SegmenterModel Model { get; }

    /// <summary>The device the network is on.</summary>
    public Device Device { get; }

    /// <summary>The checkpoint loaded, or null when the weights are the random initialisation.</summary>
    public string? Checkpoint { get; }

    /// <summary>What the checkpoint load matched, converted and skipped; null without a checkpoint.</summary>
    public LoadReport? Report { get; }

    /// <summary>One line for people: the load's summary, or a warning that the weights are random.</summary>
    public string Summary => Report is not null
        ? $"{Entry.Name}: {Report.Summary()}"
        : $"warning: {Entry.Name} has no checkpoint, so its weights are the random initialisation; give --checkpoint for trained weights";

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
