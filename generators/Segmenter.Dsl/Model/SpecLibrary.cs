using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl;

/// <summary>
/// The built-in library: the zoo's spec files (specs/*.seg), embedded in the compiler. Every
/// compilation can use their backbones and models by name (<c>backbone = Base</c>,
/// <c>model Mine : SegT16 { classes = 21 }</c>) unless its own files declare the same name; library
/// models are never emitted themselves.
/// </summary>
public static class SpecLibrary
{
    private const string Prefix = "Segmenter.Dsl.Library.";

    /// <summary>The library files, with paths like <c>zoo/ade20k.seg</c>.</summary>
    public static IReadOnlyList<SourceText> Zoo { get; } = Load();

    private static IReadOnlyList<SourceText> Load()
    {
        var assembly = typeof(SpecLibrary).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(Prefix, System.StringComparison.Ordinal))
            .OrderBy(name => name, System.StringComparer.Ordinal)
            .Select(name =>
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream);
                return SourceText.Library(reader.ReadToEnd(), "zoo/" + name.Substring(Prefix.Length));
            })
            .ToList();
    }
}
