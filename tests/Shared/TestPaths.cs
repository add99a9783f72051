using System.IO;
using System.Runtime.CompilerServices;

namespace Segmenter.Tests;

/// <summary>Paths inside the repository, found from this source file (tests never read outside the clone).</summary>
internal static class TestPaths
{
    public static string Root { get; } = FindRoot();

    public static string Specs => Path.Combine(Root, "specs");

    public static string Fixtures => Path.Combine(Root, "tests", "fixtures", "reference");

    public static string Fixture(string name, string file) => Path.Combine(Fixtures, name, file);

    private static string FindRoot([CallerFilePath] string file = "")
    {
        var directory = new DirectoryInfo(Path.GetDirectoryName(file)!);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Segmenter.Dsl.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new DirectoryNotFoundException("Segmenter.Dsl.sln not found above " + file);
    }
}
