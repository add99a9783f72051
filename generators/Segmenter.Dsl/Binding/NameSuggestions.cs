using System;
using System.Collections.Generic;
using System.Linq;

namespace Segmenter.Dsl.Binding;

/// <summary>"Did you mean …?" for misspelt names.</summary>
internal static class NameSuggestions
{
    /// <summary>" (did you mean 'x'?)" for the closest candidate within a small edit distance, else "".</summary>
    public static string DidYouMean(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        int allowed = Math.Max(1, Math.Min(3, name.Length / 3));
        if (name.Length > MaximumLength) return "";   // no name is that long: nothing to suggest, and no quadratic work on a pasted blob
        foreach (var candidate in candidates)
        {
            if (Math.Abs(candidate.Length - name.Length) > allowed) continue;   // the distance is at least the difference in length
            int distance = string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best is not null && bestDistance <= allowed && best != name ? $" (did you mean '{best}'?)" : "";
    }

    /// <summary>Names longer than this get no suggestion (C# names stop at 512 characters).</summary>
    private const int MaximumLength = 512;

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
