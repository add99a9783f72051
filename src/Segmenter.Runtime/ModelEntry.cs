using System;
using Segmenter.Spec;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>A generated model in a catalog: its spec and a factory that builds it on a device (CPU when null).</summary>
/// <param name="Spec">The resolved spec.</param>
/// <param name="Create">Builds a randomly initialised instance.</param>
public sealed record ModelEntry(SegmenterSpec Spec, Func<Device?, SegmenterModel> Create)
{
    /// <summary>The model's name.</summary>
    public string Name => Spec.Name;
}
