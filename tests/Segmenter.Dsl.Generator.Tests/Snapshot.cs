using System;
using System.IO;
using Xunit;

namespace Segmenter.Dsl.Generator.Tests;

/// <summary>
/// Approved-file snapshots. A snapshot lives in Snapshots/NAME; on a mismatch NAME.received is written
/// beside it and the test fails. With SEGMENTER_ACCEPT_SNAPSHOTS=1 (never under CI=true) the
/// approved file is (re)written instead. A missing snapshot always fails.
/// </summary>
internal static class Snapshot
{
    public static string Directory => Path.Combine(RepositoryPaths.TestProject(), "Snapshots");

    /// <summary>The approved snapshot files.</summary>
    public static System.Collections.Generic.IEnumerable<string> ApprovedFiles() =>
        System.IO.Directory.Exists(Directory) ? System.IO.Directory.GetFiles(Directory, "*.verified.cs") : Array.Empty<string>();

    public static void Match(string name, string actual)
    {
        var approved = Path.Combine(Directory, name);
        var received = approved + ".received";
        actual = actual.Replace("\r\n", "\n");
        bool accept = Environment.GetEnvironmentVariable("SEGMENTER_ACCEPT_SNAPSHOTS") == "1"
                      && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

        if (File.Exists(approved) && File.ReadAllText(approved).Replace("\r\n", "\n") == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        if (accept)
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(approved, actual);
            return;
        }
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(received, actual);
        Assert.Fail(File.Exists(approved)
            ? $"Snapshot {name} differs from the approved file; see {received}. If the change is intended, run the tests with SEGMENTER_ACCEPT_SNAPSHOTS=1."
            : $"Snapshot {name} is missing; see {received}. Approve it by running the tests with SEGMENTER_ACCEPT_SNAPSHOTS=1 and commit Snapshots/{name}.");
    }
}
