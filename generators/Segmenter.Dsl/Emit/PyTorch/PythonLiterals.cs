using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Segmenter.Spec;

namespace Segmenter.Dsl.Emit.PyTorch;

/// <summary>Python literals, culture-invariant: strings, numbers, booleans and lists.</summary>
internal static class PythonLiterals
{
    /// <summary>
    /// A double-quoted str literal. Printable ASCII stays as it is; the rest is escaped, and a character outside the
    /// Basic Multilingual Plane as one \UXXXXXXXX escape (Python does not join two \u surrogate escapes as C# does).
    /// </summary>
    public static string String(string value)
    {
        var builder = new StringBuilder("\"");
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c is '"' or '\\') builder.Append('\\').Append(c);
            else if (c == '\n') builder.Append("\\n");
            else if (c >= 32 && c <= 126) builder.Append(c);
            else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                builder.Append("\\U").Append(char.ConvertToUtf32(c, value[++i]).ToString("x8", CultureInfo.InvariantCulture));
            else builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        return builder.Append('"').ToString();
    }

    /// <summary>A float literal that reads back to the same value (the spec language's number format is valid Python).</summary>
    public static string Float(double value) => SpecPrinter.Number(value);

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "True" : "False";

    public static string OptionalString(string? value) => value is null ? "None" : String(value);

    public static string List(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";

    public static string FloatList(IEnumerable<double> values) => List(values.Select(Float));
}
