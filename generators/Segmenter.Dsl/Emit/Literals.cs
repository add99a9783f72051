using System.Globalization;
using System.Linq;
using System.Text;
using Segmenter.Spec;

namespace Segmenter.Dsl.Emit;

/// <summary>C# literals, culture-invariant and round-trippable.</summary>
internal static class Literals
{
    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A double literal that reads back to the same value (always with a '.', 'E' or 'd' so it stays a double).</summary>
    public static string Double(double value) => SpecPrinter.Number(value).Replace('e', 'E');  // the spec's shortest round-trip form, C#'s exponent letter

    public static string Bool(bool value) => value ? "true" : "false";

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
                    if (char.IsControl(c) || char.IsSurrogate(c) || c > 126)
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        builder.Append(c);
                    break;
            }
        }
        return builder.Append('"').ToString();
    }

    /// <summary>Escapes text for an XML doc comment.</summary>
    public static string Xml(string text) => Comment(text).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>
    /// <paramref name="text"/> for a one-line comment (C#'s <c>//</c> and <c>///</c>, Python's <c>#</c>): the characters
    /// either language ends a line at are written as escapes, so that a file path or a doc comment cannot end the comment
    /// and put code after it.
    /// </summary>
    public static string Comment(string text)
    {
        var builder = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '\r' or '\n' or '\u0085' or '\u2028' or '\u2029' or '\f' or '\v') builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>A thousands-separated integer for prose, e.g. 5,712,342.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string DoubleArray(System.Collections.Generic.IEnumerable<double> values) =>
        string.Join(", ", values.Select(Double));
}
