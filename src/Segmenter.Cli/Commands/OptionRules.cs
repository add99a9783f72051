using System.CommandLine;

namespace Segmenter.Cli.Commands;

/// <summary>Ranges that whole-number options accept, checked as the command line is parsed (an error names the option and its value).</summary>
internal static class OptionRules
{
    /// <summary>Refuses values below <paramref name="minimum"/>; <paramref name="expected"/> says what the option takes.</summary>
    public static Option<int> AtLeast(this Option<int> option, int minimum, string expected)
    {
        option.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < minimum) result.AddError($"{option.Name} {value}: {expected}");
        });
        return option;
    }

    /// <summary>As <see cref="AtLeast(Option{int}, int, string)"/> for an option that may be left out.</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int minimum, string expected)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && value < minimum) result.AddError($"{option.Name} {value}: {expected}");
        });
        return option;
    }
}
