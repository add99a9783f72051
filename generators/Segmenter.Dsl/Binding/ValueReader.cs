using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Syntax;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// Reads typed values out of value syntax, reporting wrong types and ranges at the value's span.
/// Every read returns null on failure and sets <see cref="Failed"/>; a value the parser already
/// reported as missing fails silently.
/// </summary>
internal sealed class ValueReader
{
    private readonly DiagnosticBag diagnostics;

    public ValueReader(DiagnosticBag diagnostics) => this.diagnostics = diagnostics;

    /// <summary>True once any read has failed.</summary>
    public bool Failed => Failures > 0;

    /// <summary>How many reads have failed (compare before and after a group of reads).</summary>
    public int Failures { get; private set; }

    /// <summary>
    /// Where to report a problem found in a library file (a value a project model inherits from the
    /// built-in zoo): the project's declaration, since the user cannot see or edit the library.
    /// </summary>
    public (SourceText Text, TextSpan Span)? Relocation { get; init; }

    public void Report(DiagnosticDescriptor descriptor, SourceText text, TextSpan span, params object[] arguments)
    {
        Failures++;
        if (text.IsHidden && Relocation is { } target)
            diagnostics.Report(descriptor, target.Text, target.Span, arguments);
        else
            diagnostics.Report(descriptor, text, span, arguments);
    }

    /// <summary>Marks the read as failed without a new diagnostic (one was reported elsewhere).</summary>
    public void Fail() => Failures++;

    /// <summary>An integer within <paramref name="property"/>'s range.</summary>
    public int? Integer(SourceValue value, PropertyInfo property) =>
        Integer(value, property.Name, (long)property.Range!.Minimum, (long)property.Range.Maximum);

    /// <summary>A number within <paramref name="property"/>'s range.</summary>
    public double? Number(SourceValue value, PropertyInfo property) => Number(value, property.Name, property.Range!);

    /// <summary>A size whose sides lie within <paramref name="property"/>'s range.</summary>
    public (int Height, int Width)? Size(SourceValue value, PropertyInfo property) =>
        Size(value, property.Name, (long)property.Range!.Minimum, (long)property.Range.Maximum);

    /// <summary>One of <paramref name="property"/>'s choice words.</summary>
    public string? Choice(SourceValue value, PropertyInfo property) => Choice(value, property.Name, property.Choices);

    /// <summary>Three numbers, each within <paramref name="property"/>'s range.</summary>
    public double[]? Triple(SourceValue value, PropertyInfo property) => Triple(value, property.Name, property.Range!);

    /// <summary>true or false.</summary>
    public bool? Boolean(SourceValue value, PropertyInfo property) => Boolean(value, property.Name);

    private int? Integer(SourceValue value, string property, long min, long max)
    {
        if (MissingOrReported(value.Syntax)) return FailSilently<int>();
        if (value.Syntax is not NumberValueSyntax number || !number.Literal.IsInteger)
            return WrongType<int>(value, property, "an integer");
        var n = number.Literal.Value;
        if (n < min || n > max)
            return OutOfRange<int>(value, property, Range(min, max), number.Token.Text);
        return (int)n;
    }

    private double? Number(SourceValue value, string property, ValueRange range)
    {
        if (MissingOrReported(value.Syntax)) return FailSilently<double>();
        if (value.Syntax is not NumberValueSyntax number)
            return WrongType<double>(value, property, "a number");
        var n = number.Literal.Value;
        if (!range.Contains(n))
            return OutOfRange<double>(value, property, range.DescribeNumbers(), number.Token.Text);
        return n;
    }

    private bool? Boolean(SourceValue value, string property)
    {
        if (MissingOrReported(value.Syntax)) return FailSilently<bool>();
        if (value.Syntax is NameValueSyntax { Arguments: null } name)
        {
            if (name.Name.Text == "true") return true;
            if (name.Name.Text == "false") return false;
        }
        return WrongType<bool>(value, property, "true or false");
    }

    private (int Height, int Width)? Size(SourceValue value, string property, long min, long max)
    {
        if (MissingOrReported(value.Syntax)) return FailSilently<(int, int)>();
        long height, width;
        if (value.Syntax is NumberValueSyntax { Literal.IsInteger: true } number)
        {
            height = width = (long)number.Literal.Value;
        }
        else if (value.Syntax is SizeValueSyntax size)
        {
            (height, width) = (size.Literal.Height, size.Literal.Width);
        }
        else
        {
            return WrongType<(int, int)>(value, property, "a size: an integer (square) or height x width such as 512x1024");
        }
        if (height < min || height > max || width < min || width > max)
            return OutOfRange<(int, int)>(value, property, "a size with both sides " + Range(min, max), value.Text.ToString(value.Syntax.Span));
        return ((int)height, (int)width);
    }

    /// <summary>The name of a bare name value (no arguments), if it is one of <paramref name="choices"/>.</summary>
    private string? Choice(SourceValue value, string property, IReadOnlyList<string> choices)
    {
        if (MissingOrReported(value.Syntax)) return FailSilently();
        if (value.Syntax is not NameValueSyntax name || name.Arguments is not null)
            return WrongTypeOfText(value, property, "one of " + string.Join(", ", choices));
        if (!choices.Contains(name.Name.Text))
        {
            Report(DiagnosticDescriptors.UnknownChoice, value.Text, name.Name.Span, property, name.Name.Text,
                NameSuggestions.DidYouMean(name.Name.Text, choices), string.Join(", ", choices));
            return null;
        }
        return name.Name.Text;
    }

    private double[]? Triple(SourceValue value, string property, ValueRange range)
    {
        if (value.Syntax is MissingValueSyntax)
        {
            Fail();
            return null;
        }
        if (value.Syntax is not TupleValueSyntax tuple || tuple.Elements.Count != 3)
        {
            WrongTypeOfText(value, property, "three numbers, one per RGB channel: (r, g, b)");
            return null;
        }
        var result = new double[3];
        bool ok = true;
        for (int i = 0; i < 3; i++)
        {
            var element = Number(value with { Syntax = tuple.Elements[i] }, property, range);
            if (element is null) ok = false;
            else result[i] = element.Value;
        }
        return ok ? result : null;
    }

    /// <summary>
    /// The named arguments of a call, checked against <paramref name="schema"/>: unknown, duplicate and
    /// positional arguments are reported. Returns the arguments that are fine.
    /// </summary>
    public Dictionary<string, SourceValue> Arguments(NameValueSyntax call, SourceText text, string owner, IReadOnlyList<PropertyInfo> schema)
    {
        var result = new Dictionary<string, SourceValue>(StringComparer.Ordinal);
        if (call.Arguments is null) return result;
        var callName = call.Name.Text;
        foreach (var argument in call.Arguments.Arguments)
        {
            if (argument.Name is null)
            {
                if (argument.Value is not MissingValueSyntax)
                    Report(DiagnosticDescriptors.PositionalArgument, text, argument.Span, callName, PropertySchema.Names(schema));
                else
                    Fail();
                continue;
            }
            var name = argument.Name.Text;
            if (PropertySchema.Find(schema, name) is null)
            {
                Report(DiagnosticDescriptors.UnknownArgument, text, argument.Name.Span, callName, name,
                    NameSuggestions.DidYouMean(name, schema.Select(p => p.Name)), schema.Count == 0 ? "none (write it without parentheses)" : PropertySchema.Names(schema));
                continue;
            }
            if (result.ContainsKey(name))
            {
                Report(DiagnosticDescriptors.DuplicateArgument, text, argument.Name.Span, name);
                continue;
            }
            result.Add(name, new SourceValue(argument.Value, text, owner));
        }
        return result;
    }

    private T? WrongType<T>(SourceValue value, string property, string expected) where T : struct
    {
        Report(DiagnosticDescriptors.WrongValueType, value.Text, value.Syntax.Span, property, expected, value.Syntax.Describe());
        return null;
    }

    private string? WrongTypeOfText(SourceValue value, string property, string expected)
    {
        Report(DiagnosticDescriptors.WrongValueType, value.Text, value.Syntax.Span, property, expected, value.Syntax.Describe());
        return null;
    }

    private T? OutOfRange<T>(SourceValue value, string property, string range, string actual) where T : struct
    {
        Report(DiagnosticDescriptors.ValueOutOfRange, value.Text, value.Syntax.Span, property, range, actual);
        return null;
    }

    /// <summary>A value the parser or the lexer has already reported (missing, or a number or size that could not be read).</summary>
    private static bool MissingOrReported(ValueSyntax syntax) =>
        syntax is MissingValueSyntax || syntax is NumberValueSyntax { Token.Value: null } || syntax is SizeValueSyntax { Token.Value: null };

    private T? FailSilently<T>() where T : struct
    {
        Fail();
        return null;
    }

    private string? FailSilently()
    {
        Fail();
        return null;
    }

    private static string Range(long min, long max) => $"between {min} and {max}";
}
