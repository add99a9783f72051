using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace Segmenter.Tests;

/// <summary>The reference's state-dict listings (tests/fixtures/reference): per model, every key and shape in order.</summary>
internal static class ReferenceListings
{
    /// <summary>Which zoo model each Table-1 listing corresponds to.</summary>
    public static readonly IReadOnlyDictionary<string, string> ZooNames = new Dictionary<string, string>
    {
        ["seg-t16-linear"] = "SegT16",
        ["seg-t16-mask"] = "SegTMask16",
        ["seg-s16-linear"] = "SegS16",
        ["seg-s16-mask"] = "SegSMask16",
        ["seg-b16-linear"] = "SegB16",
        ["seg-b16-mask"] = "SegBMask16",
        ["seg-b8-linear"] = "SegB8",
        ["seg-b32-linear"] = "SegB32",
        ["seg-bdeit16-mask"] = "SegBDeiTMask16",
        ["seg-l16-linear"] = "SegL16",
        ["seg-l16-mask-640"] = "SegLMask16",
        ["seg-l16-mask1-cityscapes-768"] = "SegLMask16Cityscapes",
    };

    /// <summary>The Table-1 listings by name: (key, shape) lines and the total parameter count.</summary>
    public static IReadOnlyDictionary<string, (IReadOnlyList<string> Lines, long Total)> Table1 { get; } = LoadTable1();

    /// <summary>The lines of a micro fixture's state_dict_keys.txt.</summary>
    public static IReadOnlyList<string> Micro(string fixture) =>
        File.ReadAllLines(TestPaths.Fixture(fixture, "state_dict_keys.txt")).Where(l => l.Length > 0).ToList();

    /// <summary>True for the reference's unused ImageNet classifier heads, which generated models omit.</summary>
    public static bool IsUnusedHead(string line) => line.StartsWith("encoder.head.", StringComparison.Ordinal) || line.StartsWith("encoder.head_dist.", StringComparison.Ordinal);

    private static IReadOnlyDictionary<string, (IReadOnlyList<string>, long)> LoadTable1()
    {
        var result = new Dictionary<string, (IReadOnlyList<string>, long)>();
        var header = new Regex(@"^## (\S+) total_params=(\d+)");
        string? name = null;
        long total = 0;
        var lines = new List<string>();
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.Fixtures, "table1-state-dict-keys.txt")).Append("## end total_params=0"))
        {
            var match = header.Match(line);
            if (match.Success)
            {
                if (name is not null) result[name] = (lines, total);
                name = match.Groups[1].Value;
                total = long.Parse(match.Groups[2].Value);
                lines = new List<string>();
            }
            else if (line.Length > 0)
            {
                lines.Add(line);
            }
        }
        return result;
    }
}
