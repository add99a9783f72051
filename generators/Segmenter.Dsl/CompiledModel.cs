using Segmenter.Spec;

namespace Segmenter.Dsl;

/// <summary>A model that compiled without errors: its spec and what the emitter says about where it came from.</summary>
/// <param name="Spec">The resolved spec.</param>
/// <param name="SourcePath">The spec file that declares the model, as given to the compiler (the generator passes a project-relative path).</param>
/// <param name="Documentation">The '///' comment above the declaration, if any.</param>
/// <param name="Resolution">One line per property: its resolved value and which declaration set it (or "default"). No line numbers, so comment edits leave it unchanged.</param>
public sealed record CompiledModel(SegmenterSpec Spec, string SourcePath, string? Documentation, EquatableArray<string> Resolution);
