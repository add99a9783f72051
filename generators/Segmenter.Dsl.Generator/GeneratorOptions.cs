namespace Segmenter.Dsl.Generator;

/// <summary>Project-wide settings read from MSBuild properties.</summary>
/// <param name="Namespace">The namespace of generated classes.</param>
/// <param name="BaseDirectory">The directory spec paths are shown relative to in generated code.</param>
internal sealed record GeneratorOptions(string Namespace, string BaseDirectory);
