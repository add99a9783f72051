using System.Globalization;

namespace Segmenter.Dsl.Binding;

/// <summary>The values a number may take: a lower and an upper bound, each inclusive or exclusive (an infinite bound is open).</summary>
/// <param name="Minimum">The lower bound.</param>
/// <param name="MinimumInclusive">True if the lower bound itself is allowed.</param>
/// <param name="Maximum">The upper bound (<see cref="double.PositiveInfinity"/> for none).</param>
/// <param name="MaximumInclusive">True if the upper bound itself is allowed.</param>
public sealed record ValueRange(double Minimum, bool MinimumInclusive, double Maximum, bool MaximumInclusive)
{
    /// <summary>The integers from <paramref name="minimum"/> to <paramref name="maximum"/>, both included.</summary>
    public static ValueRange Integers(long minimum, long maximum) => new(minimum, true, maximum, true);

    /// <summary>[minimum, maximum).</summary>
    public static ValueRange HalfOpen(double minimum, double maximum) => new(minimum, true, maximum, false);

    /// <summary>True if <paramref name="value"/> lies within the range.</summary>
    public bool Contains(double value) =>
        (MinimumInclusive ? value >= Minimum : value > Minimum) && (MaximumInclusive ? value <= Maximum : value < Maximum);

    /// <summary>For integer messages: "between 1 and 1000".</summary>
    public string DescribeIntegers() => $"between {Format(Minimum)} and {Format(Maximum)}";

    /// <summary>For number messages: "≥ 0 and &lt; 1", "&gt; 0" (no upper part when unbounded).</summary>
    public string DescribeNumbers()
    {
        var lower = (MinimumInclusive ? "≥ " : "> ") + Format(Minimum);
        var upper = double.IsPositiveInfinity(Maximum) ? "" : (MaximumInclusive ? " and ≤ " : " and < ") + Format(Maximum);
        return lower + upper;
    }

    /// <summary>For documentation: "1–1000" for integers, "[0, 1)" or "&gt; 0" for numbers.</summary>
    public string DescribeForDocs(bool integers)
    {
        if (integers) return $"{Format(Minimum)}–{Format(Maximum)}";
        if (double.IsNegativeInfinity(Minimum) && double.IsPositiveInfinity(Maximum)) return "any number";
        if (double.IsPositiveInfinity(Maximum)) return (MinimumInclusive ? "≥ " : "> ") + Format(Minimum);
        return (MinimumInclusive ? "[" : "(") + Format(Minimum) + ", " + Format(Maximum) + (MaximumInclusive ? "]" : ")");
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
