using Segmenter.Spec;

namespace Segmenter.Dsl.Generator;

/// <summary>The catalog to emit: model names only, so a change inside a model leaves it unchanged.</summary>
internal sealed record CatalogToEmit(EquatableArray<string> ModelNames, string Namespace);
