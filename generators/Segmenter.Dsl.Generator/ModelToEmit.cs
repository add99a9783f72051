namespace Segmenter.Dsl.Generator;

/// <summary>One model to emit, with the namespace to put it in.</summary>
internal sealed record ModelToEmit(CompiledModel Model, string Namespace);
