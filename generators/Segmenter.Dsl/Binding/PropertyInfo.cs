namespace Segmenter.Dsl.Binding;

/// <summary>A property (or call argument) the language knows: its name, whether it must be set, an example value and what it means.</summary>
public sealed record PropertyInfo(string Name, bool Required, string Example, string Description);
