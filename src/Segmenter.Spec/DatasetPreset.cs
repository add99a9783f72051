namespace Segmenter.Spec;

/// <summary>A dataset whose class list a spec can name: <c>classes = ade20k</c>.</summary>
/// <param name="Name">The preset's name in specs.</param>
/// <param name="DisplayName">The dataset's usual name.</param>
/// <param name="ClassNames">The classes in label order (after the dataset's own label mapping).</param>
public sealed record DatasetPreset(string Name, string DisplayName, EquatableArray<string> ClassNames);
