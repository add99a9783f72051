using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Diagnostics;

/// <summary>Collects diagnostics while a stage runs; every stage reports here instead of throwing.</summary>
public sealed class DiagnosticBag : IEnumerable<SpecDiagnostic>
{
    private readonly List<SpecDiagnostic> diagnostics = new();

    /// <summary>The number of diagnostics.</summary>
    public int Count => diagnostics.Count;

    /// <summary>Reports a diagnostic of <paramref name="descriptor"/> at <paramref name="span"/> in <paramref name="text"/>.</summary>
    public void Report(DiagnosticDescriptor descriptor, SourceText text, TextSpan span, params object[] arguments)
    {
        for (int i = 0; i < arguments.Length; i++)
            if (arguments[i] is string quoted && quoted.Length > MaximumQuoted) arguments[i] = Shortened(quoted);
        var message = string.Format(CultureInfo.InvariantCulture, descriptor.MessageFormat, arguments);
        diagnostics.Add(new SpecDiagnostic(descriptor, message, text.Path, span, text.GetLinePositionSpan(span)));
    }

    /// <summary>The longest text a message quotes whole (a token, a name): a pasted blob is quoted by its start and length.</summary>
    private const int MaximumQuoted = 256;

    private static string Shortened(string text)
    {
        int keep = char.IsHighSurrogate(text[99]) ? 99 : 100;
        return text.Substring(0, keep) + "… (" + text.Length.ToString("N0", CultureInfo.InvariantCulture) + " characters)";
    }

    /// <summary>Adds diagnostics reported elsewhere.</summary>
    public void AddRange(IEnumerable<SpecDiagnostic> other) => diagnostics.AddRange(other);

    /// <inheritdoc />
    public IEnumerator<SpecDiagnostic> GetEnumerator() => diagnostics.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
