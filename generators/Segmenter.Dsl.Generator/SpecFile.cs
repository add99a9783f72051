namespace Segmenter.Dsl.Generator;

/// <summary>A spec file as the pipeline sees it: path, display path and text. Value-equal.</summary>
internal sealed record SpecFile(string Path, string DisplayPath, string Text);
