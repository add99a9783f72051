namespace Segmenter.Dsl.Syntax;

/// <summary>The value of a number token: the number, and whether it was written as an integer.</summary>
public readonly record struct NumberLiteral(double Value, bool IsInteger);
