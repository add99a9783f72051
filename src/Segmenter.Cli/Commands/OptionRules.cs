using System;
using System.CommandLine;
using System.Globalization;

namespace Segmenter.Cli.Commands;

/// <summary>Ranges that number options accept, checked as the command line is parsed (an error names the option and its value).</summary>
internal static class OptionRules
{
    /// <summary>Refuses values below <paramref name="minimum"/>; <paramref name="expected"/> says what the option takes.</summary>
    public static Option<int> AtLeast(this Option<int> option, int minimum, string expected) => Rule(option, v => v >= minimum, expected);

    /// <summary>As <see cref="AtLeast(Option{int}, int, string)"/> for an option that may be left out.</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int minimum, string expected) => Rule(option, v => v is not { } value || value >= minimum, expected);

    /// <summary>Refuses values outside [<paramref name="minimum"/>, <paramref name="maximum"/>], and NaN.</summary>
    public static Option<double> Within(this Option<double> option, double minimum, double maximum, string expected) =>
        Rule(option, v => v >= minimum && v <= maximum, expected);

    /// <summary>As <see cref="Within(Option{double}, double, double, string)"/> for an option that may be left out.</summary>
    public static Option<double?> Within(this Option<double?> option, double minimum, double maximum, string expected) =>
        Rule(option, v => v is not { } value || (value >= minimum && value <= maximum), expected);

    private static Option<T> Rule<T>(Option<T> option, Func<T, bool> accepted, string expected)
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<T>();
            if (!accepted(value))
                result.AddError($"{option.Name} {(value is IFormattable number ? number.ToString(null, CultureInfo.InvariantCulture) : value?.ToString())}: {expected}");
        });
        return option;
    }
}
