using System;
using System.Collections.Generic;
using Segmenter.Runtime;

namespace Segmenter.Tooling;

/// <summary>What to load: a model argument, its weights, the device, and how strictly to load.</summary>
public sealed record ModelRequest
{
    /// <summary>A zoo model, <c>path/to/file.seg[:Model]</c>, or the reference's <c>variant.yml</c> (or its folder).</summary>
    public required string Model { get; init; }

    /// <summary>The checkpoint; null: the checkpoint.pth beside a variant.yml, or none (random weights, with a warning).</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Without <see cref="Checkpoint"/>, load the checkpoint.pth beside a variant.yml (true), or start from random weights (false).</summary>
    public bool UseVariantCheckpoint { get; init; } = true;

    /// <summary>Fail when there is no checkpoint (commands whose output means nothing with random weights).</summary>
    public bool CheckpointRequired { get; init; }

    /// <summary>The device: cpu, cuda, cuda:N or auto.</summary>
    public string Device { get; init; } = Devices.Default;

    /// <summary>Key prefixes the checkpoint may lack.</summary>
    public IReadOnlyList<string> AllowMissing { get; init; } = Array.Empty<string>();

    /// <summary>Key prefixes of the checkpoint to ignore.</summary>
    public IReadOnlyList<string> Skip { get; init; } = Array.Empty<string>();

    /// <summary>Load only the encoder (a backbone to start training from: ImageNet weights, another model's encoder).</summary>
    public bool EncoderOnly { get; init; }

    /// <summary>If set, the random-number generator is seeded with it before the model is created, so the initialisation repeats.</summary>
    public long? Seed { get; init; }
}
