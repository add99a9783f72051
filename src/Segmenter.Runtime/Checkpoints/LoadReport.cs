using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>What loading a checkpoint did: keys loaded, missing, unexpected, skipped, shape mismatches, and notes.</summary>
public sealed class LoadReport
{
    /// <summary>The file loaded.</summary>
    public string Path { get; init; } = "";

    /// <summary>The naming convention the file used.</summary>
    public KeyConvention Convention { get; init; }

    /// <summary>Model keys set from the file.</summary>
    public List<string> Loaded { get; } = new();

    /// <summary>Model keys the file does not have (left at their current values when allowed).</summary>
    public List<string> Missing { get; } = new();

    /// <summary>File keys the model does not have.</summary>
    public List<string> Unexpected { get; } = new();

    /// <summary>File keys ignored on purpose (unused classifier heads, keys asked to be skipped).</summary>
    public List<string> Skipped { get; } = new();

    /// <summary>Keys present in both with other shapes.</summary>
    public List<ShapeMismatch> Mismatches { get; } = new();

    /// <summary>Adjustments made, e.g. a position embedding resized to the model's grid.</summary>
    public List<string> Notes { get; } = new();

    /// <summary>Loaded keys whose values hold NaN or infinity, with how many of how many ("key (3 of 768)"): the load succeeds, but outputs are meaningless.</summary>
    public List<string> NonFinite { get; } = new();

    /// <summary>A warning for people when weights are not finite (null when all are).</summary>
    public string? Warning => NonFinite.Count == 0 ? null :
        $"{Path}: {NonFinite.Count} of the {Loaded.Count} tensors loaded hold NaN or infinite values ({string.Join(", ", NonFinite.Take(3))}{(NonFinite.Count > 3 ? ", …" : "")}); " +
        "logits, metrics and exports computed from these weights are not meaningful (a run that diverged, or a damaged file)";

    /// <summary>Missing keys that were not allowed.</summary>
    public List<string> MissingNotAllowed { get; } = new();

    /// <summary>True when nothing stops the load.</summary>
    public bool Succeeded => Unexpected.Count == 0 && Mismatches.Count == 0 && MissingNotAllowed.Count == 0;

    /// <summary>One line for a successful load: what was loaded from where, what was skipped or left, and the notes.</summary>
    public string Summary() =>
        $"{Loaded.Count} tensors loaded from {Path} ({Convention} keys)" +
        (Skipped.Count > 0 ? $", {Skipped.Count} skipped" : "") +
        (Missing.Count > 0 ? $", {Missing.Count} left at initialisation" : "") +
        string.Concat(Notes.Select(n => "; " + n));

    /// <summary>A human-readable summary, one section per non-empty list.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append($"{Path} ({Convention} keys): {Loaded.Count} loaded, {Missing.Count} missing, {Unexpected.Count} unexpected, {Skipped.Count} skipped, {Mismatches.Count} shape mismatches");
        void Section(string title, IEnumerable<string> items, int limit = 20)
        {
            var list = items.ToList();
            if (list.Count == 0) return;
            text.Append('\n').Append(title).Append(':');
            foreach (var item in list.Take(limit)) text.Append("\n  ").Append(item);
            if (list.Count > limit) text.Append($"\n  … and {list.Count - limit} more");
        }
        Section("shape mismatches", Mismatches.Select(m => m.ToString()));
        Section("missing (not allowed)", MissingNotAllowed);
        Section("missing (allowed, left at initialisation)", Missing.Except(MissingNotAllowed));
        Section("unexpected", Unexpected);
        Section("skipped", Skipped);
        Section("not finite (NaN or infinity)", NonFinite);
        Section("notes", Notes);
        return text.ToString();
    }
}
