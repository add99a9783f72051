using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl;

/// <summary>
/// The built-in library: the zoo's spec files (specs/*.seg), embedded as resources named
/// <see cref="ResourcePrefix"/> + file name in the assemblies that offer it (the source generator,
/// for projects' builds, and Segmenter.Models, at run time). Every compilation given the library can
/// use its backbones and models by name (<c>backbone = Base</c>, <c>model Mine : SegT16 { classes = 21 }</c>)
/// unless its own files declare the same name; library models are never emitted themselves.
/// </summary>
/// <remarks>
/// The library is not embedded in this assembly: resources are part of reference assemblies, so
/// every project depending on the compiler would be recompiled whenever a zoo spec changed.
/// </remarks>
public static class SpecLibrary
{
    /// <summary>The logical-name prefix of embedded library files.</summary>
    public const string ResourcePrefix = "Segmenter.Dsl.Library.";

    /// <summary>The library files embedded in <paramref name="assembly"/>, with paths like <c>zoo/ade20k.seg</c>, in name order.</summary>
    public static IReadOnlyList<SourceText> FromResources(Assembly assembly) =>
        assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, System.StringComparison.Ordinal))
            .OrderBy(name => name, System.StringComparer.Ordinal)
            .Select(name =>
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream);
                return SourceText.Library(reader.ReadToEnd(), "zoo/" + name.Substring(ResourcePrefix.Length));
            })
            .ToList();
}
