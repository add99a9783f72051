using System;
using System.Collections.Generic;
using Segmenter.Dsl.Diagnostics;

namespace Segmenter.Tooling;

/// <summary>A spec that did not compile: its diagnostics, in compiler form.</summary>
public sealed class SpecCompilationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SpecCompilationException(string message, IReadOnlyList<SpecDiagnostic> diagnostics)
        : base(message + (diagnostics.Count == 0 ? "" : "\n" + string.Join("\n", diagnostics)))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>The diagnostics.</summary>
    public IReadOnlyList<SpecDiagnostic> Diagnostics { get; }
}
