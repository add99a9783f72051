using System.Collections.Generic;
using System.IO;
using System.Linq;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Tests;

/// <summary>The built-in library as the generator and the tools embed it: the zoo's specs/*.seg as hidden library texts.</summary>
internal static class ZooLibrary
{
    /// <summary>The zoo's files, with paths like <c>zoo/ade20k.seg</c>, in name order.</summary>
    public static IReadOnlyList<SourceText> Texts { get; } =
        Directory.GetFiles(RepositoryPaths.Specs, "*.seg")
            .OrderBy(f => f, System.StringComparer.Ordinal)
            .Select(f => SourceText.Library(File.ReadAllText(f), "zoo/" + Path.GetFileName(f)))
            .ToList();
}
