using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Binding;

/// <summary>A value as written, with the file it is in and the declaration that wrote it.</summary>
internal readonly record struct SourceValue(ValueSyntax Syntax, SourceText Text, string Owner);
