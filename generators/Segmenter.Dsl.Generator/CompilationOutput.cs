using Segmenter.Dsl.Diagnostics;
using Segmenter.Spec;

namespace Segmenter.Dsl.Generator;

/// <summary>Everything the compiler produced for the project's spec files.</summary>
internal sealed record CompilationOutput(EquatableArray<ModelToEmit> Models, EquatableArray<SpecDiagnostic> Diagnostics, string Namespace);
