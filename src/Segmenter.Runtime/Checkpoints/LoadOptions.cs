using System;
using System.Collections.Generic;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>Options for loading weights into a model.</summary>
public sealed record LoadOptions
{
    /// <summary>Key prefixes the model may keep at their current values when the file lacks them (e.g. "decoder." when starting from ImageNet weights).</summary>
    public IReadOnlyList<string> AllowMissing { get; init; } = Array.Empty<string>();

    /// <summary>Key prefixes of the file to ignore.</summary>
    public IReadOnlyList<string> Skip { get; init; } = Array.Empty<string>();

    /// <summary>Accept keys the model does not have (reported, not loaded). Off by default: strict.</summary>
    public bool AllowUnexpected { get; init; }

    /// <summary>Options for an encoder initialisation from classification weights: the decoder may be missing.</summary>
    public static LoadOptions EncoderOnly { get; } = new() { AllowMissing = new[] { "decoder." } };
}
