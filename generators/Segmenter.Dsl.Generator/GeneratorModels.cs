using Segmenter.Dsl.Diagnostics;
using Segmenter.Spec;

namespace Segmenter.Dsl.Generator;

/// <summary>A spec file as the pipeline sees it: path, display path and text. Value-equal.</summary>
internal sealed record SpecFile(string Path, string DisplayPath, string Text);

/// <summary>Project-wide settings read from MSBuild properties.</summary>
/// <param name="Namespace">The namespace of generated classes.</param>
/// <param name="BaseDirectory">The directory spec paths are shown relative to in generated code.</param>
internal sealed record GeneratorOptions(string Namespace, string BaseDirectory);

/// <summary>One model to emit, with the namespace to put it in.</summary>
internal sealed record ModelToEmit(CompiledModel Model, string Namespace);

/// <summary>The catalog to emit: model names only, so a change inside a model leaves it unchanged.</summary>
internal sealed record CatalogToEmit(EquatableArray<string> ModelNames, string Namespace);

/// <summary>Everything the compiler produced for the project's spec files.</summary>
internal sealed record CompilationOutput(EquatableArray<ModelToEmit> Models, EquatableArray<SpecDiagnostic> Diagnostics, string Namespace);
