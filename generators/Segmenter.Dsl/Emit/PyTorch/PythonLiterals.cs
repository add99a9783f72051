using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Segmenter.Spec;

namespace Segmenter.Dsl.Emit.PyTorch;

/// <summary>Python literals, culture-invariant: strings, numbers, booleans and lists.</summary>
internal static class PythonLiterals
{
    /// <summary>A double-quoted str literal; non-ASCII and control characters as \u escapes.</summary>
    public static string String(string value)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (c < 32 || c > 126) builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else builder.Append(c);
                    break;
            }
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
