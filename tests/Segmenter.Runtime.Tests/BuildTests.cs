using System.IO;
using System.Linq;
using Xunit;
using Segmenter.Tests;

namespace Segmenter.Runtime.Tests;

/// <summary>The build's fix of TorchSharp's native library (build/ElfVersionPatcher.cs), on the real library.</summary>
public sealed class BuildTests
{
    private static string NativeLibrary() =>
        Directory.GetFiles(System.AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).First();

    [Fact]
    public void The_output_library_no_longer_requires_the_missing_version_strictly()
    {
        var bytes = File.ReadAllBytes(NativeLibrary());
        Assert.Equal(ElfVersionPatch.PatchOutcome.AlreadyWeak, ElfVersionPatch.Patch(bytes, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Patching_sets_only_the_weak_flag_and_is_idempotent()
    {
        var original = File.ReadAllBytes(NativeLibrary());
        var copy = (byte[])original.Clone();
        Assert.Equal(ElfVersionPatch.PatchOutcome.AlreadyWeak, ElfVersionPatch.Patch(copy, "GLIBCXX_3.4.32"));
        Assert.Equal(original, copy);
        Assert.Equal(ElfVersionPatch.PatchOutcome.VersionNotRequired, ElfVersionPatch.Patch(copy, "GLIBCXX_9.9.99"));
        Assert.Throws<InvalidDataException>(() => ElfVersionPatch.Patch(new byte[100], "GLIBCXX_3.4.32"));
        var truncated = original.Take(4096).ToArray();   // the ELF header, without the section table it points to
        Assert.Contains("malformed ELF file", Assert.Throws<InvalidDataException>(() => ElfVersionPatch.Patch(truncated, "GLIBCXX_3.4.32")).Message);
        Assert.True(ElfVersionPatch.DefinesVersion(NativeLibrary(), "GLIBCXX_3.4.32"));   // named in its requirements
        Assert.False(ElfVersionPatch.DefinesVersion(NativeLibrary(), "GLIBCXX_9.9.99"));
    }

    [Fact]
    public void The_templates_cuda_packages_are_the_central_versions()
    {
        // The template cannot read Directory.Packages.props, so it names the CUDA switch's versions itself.
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(TestPaths.Root, "Directory.Packages.props"));
        var properties = props.Descendants("PropertyGroup").SelectMany(g => g.Elements()).ToDictionary(e => e.Name.LocalName, e => e.Value);
        string Resolve(string version) => System.Text.RegularExpressions.Regex.Replace(version, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]);
        var central = props.Descendants("PackageVersion").ToDictionary(e => (string)e.Attribute("Include")!, e => Resolve((string)e.Attribute("Version")!));
        var template = System.Xml.Linq.XDocument.Load(Path.Combine(TestPaths.Root, "templates", "content", "segmenter", "SegmenterApp.csproj"))
            .Descendants("PackageReference").Where(e => (string?)e.Attribute("Include") != "Segmenter").ToList();
        Assert.NotEmpty(template);
        foreach (var reference in template)
            Assert.Equal(central[(string)reference.Attribute("Include")!], (string)reference.Attribute("Version")!);
    }
}
