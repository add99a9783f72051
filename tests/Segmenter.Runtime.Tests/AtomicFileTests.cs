using System;
using System.IO;
using System.Linq;
using Segmenter.Runtime;
using Xunit;

namespace Segmenter.Runtime.Tests;

/// <summary>Files are replaced whole or not at all, and a failure names the file the user asked for.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-atomic-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void A_write_replaces_the_file_and_leaves_nothing_beside_it()
    {
        var path = Path.Combine(folder.FullName, "sub", "a.txt");
        AtomicFile.WriteText(path, "first");
        AtomicFile.WriteText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(new[] { "a.txt" }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failing_writer_leaves_the_old_file_and_no_temporary_file()
    {
        var path = Path.Combine(folder.FullName, "b.bin");
        AtomicFile.WriteText(path, "kept");
        var error = Assert.Throws<InvalidDataException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100_000]);
            throw new InvalidDataException("the data ran out");
        }));
        Assert.Equal("the data ran out", error.Message);   // the writer's own error, as it was
        Assert.Equal("kept", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(folder.FullName));
    }

    [Fact]
    public void A_file_that_cannot_be_made_is_an_error_naming_it()
    {
        // /proc takes no new files, whoever runs the test (root included).
        var path = "/proc/segmenter-atomic-" + Guid.NewGuid().ToString("N") + ".onnx";
        var error = Assert.Throws<IOException>(() => AtomicFile.WriteText(path, "x"));
        Assert.StartsWith($"cannot write {path}: could not make a file in its folder", error.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_folder_in_the_place_of_the_file_is_an_error_naming_it_and_keeps_the_folder()
    {
        var path = Path.Combine(folder.FullName, "taken");
        Directory.CreateDirectory(path);
        var error = Assert.Throws<IOException>(() => AtomicFile.WriteText(path, "x"));
        Assert.StartsWith($"cannot write {path}: could not put it in place", error.Message);
        Assert.True(Directory.Exists(path));
        Assert.Equal(new[] { "taken" }, Directory.GetFileSystemEntries(folder.FullName).Select(Path.GetFileName));
    }
}
