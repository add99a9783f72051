namespace Segmenter.Dsl.Diagnostics;

/// <summary>How serious a diagnostic is.</summary>
public enum SpecSeverity
{
    /// <summary>The spec cannot produce a model.</summary>
    Error,
    /// <summary>The spec works but is probably not what was meant.</summary>
    Warning,
}
