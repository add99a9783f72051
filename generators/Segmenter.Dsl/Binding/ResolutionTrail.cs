using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Syntax;
using Segmenter.Spec;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// The resolution-trail stage: one line per model property, <c>name = value</c> as written (with
/// <c>(from Base)</c> when inherited) or <c>name = default  (default)</c> in spec syntax from the schema.
/// No line numbers, so a comment edit leaves the trail, and the generated code, unchanged.
/// </summary>
internal static class ResolutionTrail
{
    /// <summary>The trail of <paramref name="model"/> whose merged properties are <paramref name="properties"/>.</summary>
    public static EquatableArray<string> Of(Declaration model, IReadOnlyDictionary<string, SourceValue> properties) =>
        PropertySchema.Model
            .Select(info => properties.TryGetValue(info.Name, out var value)
                ? $"{info.Name} = {SyntaxPrinter.Print(value.Syntax)}" + (value.Owner == model.Name ? "" : $"  (from {value.Owner})")
                : $"{info.Name} = {info.Default!.Text}  (default)")
            .ToEquatableArray();
}
