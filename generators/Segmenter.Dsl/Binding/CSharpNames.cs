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
    /// Names a model class cannot take because the generated code uses them: members of every model class (a member may
    /// not share its class's name), the generated catalog and its members, and the names the generated code takes from
    /// its using directives without qualification (a class of that name in the models' namespace would hide them from
    /// every model). Export's GeneratedNamesTests compiles a model named by every other identifier the code holds.
    /// </summary>
    public static ISet<string> Reserved { get; } = new HashSet<string>
    {
        "Spec", "Width", "Layers", "Heads", "MlpWidth", "PatchSize", "ImageHeight", "ImageWidth", "GridHeight", "GridWidth",
        "NumClasses", "ExtraTokens", "Encoder", "Decoder", "EncoderModule", "DecoderModule", "ClassNames",
        "encoder", "decoder", "PatchLogits", "EncoderAttention", "DecoderAttention", "RegisterComponents", "CheckImages", "forward",
        "SegmenterModels", "All", "device",
        "Runtime", "Modules", "Parameter", "nn", "Tensor", "Device", "cat", "zeros", "NewDisposeScope",
        // Contextual keywords the generated code relies on: a type of that name changes what they mean.
        "var", "dynamic", "nameof",
    };

    /// <summary>True for C#'s reserved keywords (class, namespace, int …), which no name may be without an '@'.</summary>
    public static bool IsKeyword(string name) => Keywords.Contains(name);

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
        if (Reserved.Contains(name)) return $"the generated code uses the name '{name}' itself (a member of every model, the catalog, or a TorchSharp or runtime name it takes unqualified); choose another name";
        if (string.Equals(name, "SegmenterModels", System.StringComparison.OrdinalIgnoreCase))
            return "the generated catalog's file is SegmenterModels.g.cs, which this name's file would be where case is not told apart; choose another name";
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
        // Formatting characters (soft hyphen, zero-width joiner …) are not taken: C# ignores them when it compares names,
        // so two models would be one class, and Python refuses them.
        return category == UnicodeCategory.NonSpacingMark || category == UnicodeCategory.SpacingCombiningMark
            || category == UnicodeCategory.ConnectorPunctuation;
    }
}
