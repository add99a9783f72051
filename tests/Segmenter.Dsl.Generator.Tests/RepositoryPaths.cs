using System.IO;
using System.Runtime.CompilerServices;

namespace Segmenter.Dsl.Generator.Tests;

/// <summary>Paths inside the repository, found from this source file's location (tests never look outside the clone).</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Specs => Path.Combine(Root, "specs");



    public static string TestProject([CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;

    private static string FindRoot([CallerFilePath] string file = "")
    {
        var directory = new DirectoryInfo(Path.GetDirectoryName(file)!);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Segmenter.Dsl.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new DirectoryNotFoundException("Segmenter.Dsl.sln not found above " + file);
    }
}
