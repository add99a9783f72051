using System.Collections.Generic;
using System.Globalization;

namespace Segmenter.Dsl.Binding;

/// <summary>Whether a model name can be the name of a generated C# class.</summary>
public static class CSharpNames
{
    private static readonly HashSet<string> Keywords = new()
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>
    /// Names a model class cannot take because the generated code uses them: members of every model
    /// class (a member may not share its class's name) and the generated catalog.
    /// </summary>
    public static ISet<string> Reserved { get; } = new HashSet<string>
    {
        "Spec", "Width", "Layers", "Heads", "MlpWidth", "PatchSize", "ImageHeight", "ImageWidth", "GridHeight", "GridWidth",
        "NumClasses", "ExtraTokens", "Encoder", "Decoder", "EncoderModule", "DecoderModule", "ClassNames",
        "SegmenterModels",
    };

    /// <summary>The longest identifier the C# compiler accepts.</summary>
    public const int MaximumLength = 512;

    /// <summary>Why <paramref name="name"/> cannot name a class, or null if it can.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "it is empty";
        if (name.Length > MaximumLength) return $"it has {name.Length} characters; C# names may have at most {MaximumLength}";
        if (!IsIdentifierStart(name[0])) return "a C# identifier starts with a letter or '_'";
        foreach (var c in name)
        {
            if (!IsIdentifierPart(c))
                return $"'{c}' is not allowed in a C# identifier; use letters, digits and '_' (e.g. {Suggest(name)})";
        }
        if (Keywords.Contains(name)) return $"'{name}' is a C# keyword";
        if (Reserved.Contains(name)) return $"the generated code uses '{name}' for one of its members; choose another name";
        return null;
    }

    /// <summary>
    /// <paramref name="text"/> as a PascalCase identifier: each run of letters and digits starts upper case,
    /// other characters are dropped (micro-linear → MicroLinear); empty if nothing is left.
    /// </summary>
    public static string PascalCase(string text)
    {
        var chars = new List<char>();
        bool upper = true;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                chars.Add(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            else
            {
                upper = true;
            }
        }
        return new string(chars.ToArray());
    }

    private static string Suggest(string name)
    {
        var chars = new List<char>();
        bool upper = false;
        foreach (var c in name)
        {
            if (IsIdentifierPart(c))
            {
                chars.Add(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            else
            {
                upper = true;
            }
        }
        return chars.Count == 0 ? "Model1" : new string(chars.ToArray());
    }

    private static bool IsIdentifierStart(char c) => c == '_' || char.IsLetter(c);

    private static bool IsIdentifierPart(char c)
    {
        if (c == '_' || char.IsLetterOrDigit(c)) return true;
        var category = CharUnicodeInfo.GetUnicodeCategory(c);
        return category == UnicodeCategory.NonSpacingMark || category == UnicodeCategory.SpacingCombiningMark
            || category == UnicodeCategory.ConnectorPunctuation || category == UnicodeCategory.Format;
    }
}
