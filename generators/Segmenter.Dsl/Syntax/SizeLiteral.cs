namespace Segmenter.Dsl.Syntax;

/// <summary>The value of a size token such as 512x640: height then width.</summary>
public readonly record struct SizeLiteral(long Height, long Width);
