using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using Segmenter.Tests;

namespace Segmenter.Packaging.Tests;

/// <summary>Packs the packages once for all packaging facts (unless packages newer than every source file are there) and cleans up after them.</summary>
public sealed class PackedPackages : IDisposable
{
    public static readonly string Folder = Path.Combine(TestPaths.Root, "artifacts", "packages");

    public static readonly string[] Ids =
    {
        "Segmenter", "Segmenter.Spec", "Segmenter.Dsl", "Segmenter.Runtime", "Segmenter.Export", "Segmenter.Inference", "Segmenter.Training",
        "Segmenter.Models", "Segmenter.Tooling", "Segmenter.Serving", "Segmenter.Cli", "Segmenter.Templates",
    };

    public PackedPackages()
    {
        Temporary = Directory.CreateTempSubdirectory("segmenter-packaging-");
        var expected = Ids.Select(id => Path.Combine(Folder, $"{id}.0.1.0.nupkg")).ToList();
        var newestSource = new[] { "src", "generators", "templates", "build", "specs" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(TestPaths.Root, d), "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Max(File.GetLastWriteTimeUtc);
        if (!(expected.All(File.Exists) && expected.Min(File.GetLastWriteTimeUtc) > newestSource))
        {
            var (exit, text) = Processes.Run("dotnet", TestPaths.Root, "pack", "Segmenter.Packages.slnf", "-c", "Release", "-o", Folder);
            PackOutput = text;
            if (exit != 0) throw new InvalidOperationException($"dotnet pack failed (exit {exit}):\n{text}");
        }
        Missing = expected.Where(p => !File.Exists(p)).ToList();
        ForgetCachedSegmenterPackages();
    }

    /// <summary>A folder outside the repository for the facts' projects.</summary>
    public DirectoryInfo Temporary { get; }

    /// <summary>What dotnet pack printed, if it ran.</summary>
    public string PackOutput { get; } = "";

    /// <summary>Packages that should have been packed and were not.</summary>
    public IReadOnlyList<string> Missing { get; }

    public void Dispose() => Temporary.Delete(recursive: true);

    /// <summary>Removes this project's own packages (only those) from the NuGet cache, so a freshly packed version is what gets restored.</summary>
    private static void ForgetCachedSegmenterPackages()
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (!Directory.Exists(cache)) return;
        foreach (var id in Ids)
        {
            var folder = Path.Combine(cache, id.ToLowerInvariant());
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>Running a program and capturing what it prints.</summary>
internal static class Processes
{
    public static (int Exit, string Output) Run(string program, string directory, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["PWD"] = Path.GetFullPath(directory);   // as a shell started there would have it
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{program} {string.Join(" ", arguments)} did not finish in 10 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>
/// The product as a new user meets it: the packages packed from this repository into a local folder
/// feed (never project references), the `dotnet new segmenter` template, the consumer sample, and the
/// `segmenter` .NET tool — each built and run from a folder outside the repository, one fact each.
/// </summary>
public sealed class PackagingTests : IClassFixture<PackedPackages>
{
    private static readonly string Packages = PackedPackages.Folder;
    private readonly PackedPackages packed;
    private readonly ITestOutputHelper output;

    public PackagingTests(PackedPackages packed, ITestOutputHelper output)
    {
        this.packed = packed;
        this.output = output;
    }

    [Fact]
    public void Every_package_is_packed()
    {
        Assert.True(packed.Missing.Count == 0, $"not packed: {string.Join(", ", packed.Missing)}\n{packed.PackOutput}");
    }

    [Fact]
    public void The_consumer_sample_builds_trains_exports_and_runs_its_own_variant()
    {
        var consumer = CopyConsumer("Consumer");
        Run("dotnet", consumer, "build");
        var ran = Run("dotnet", consumer, "run", "--no-build");
        Assert.Contains("NarrowMask16 (Seg-N-Mask/16): width 256, 4 heads, patch 16, 21 classes, decoder layers 1", ran);
        Assert.Contains("max |Δ| against TorchSharp", ran);
    }

    [Fact]
    public void A_broken_spec_fails_the_build_at_its_file_line_and_column()
    {
        var consumer = CopyConsumer("Broken");
        File.Copy(Path.Combine(consumer, "broken", "broken.seg"), Path.Combine(consumer, "specs", "broken.seg"));
        var failed = Run("dotnet", consumer, expectedExit: 1, "build");
        Assert.Contains(Path.Combine(consumer, "specs", "broken.seg") + "(6,14): error SEGDSL0203: Image size 60 is not a multiple of patch 16", failed);
    }

    [Fact]
    public void The_template_builds_and_runs()
    {
        var app = NewApp("MyApp");
        Assert.True(File.Exists(Path.Combine(Generated(app), "MyModel.g.cs")));
        var appRun = Run("dotnet", app, "run", "--no-build");
        Assert.Contains("mIoU", appRun);
        Assert.Contains("max |Δ| against the model", appRun);
    }

    [Fact]
    public void A_variant_added_to_the_template_becomes_a_class_on_the_next_build()
    {
        var app = NewApp("MyWideApp");
        File.AppendAllText(Path.Combine(app, "specs", "my-model.seg"), "\nmodel MyWideModel : MyModel { backbone = MyBackbone(width = 192, heads = 6) }\n");
        Run("dotnet", app, "build");
        Assert.Contains("public sealed partial class MyWideModel", File.ReadAllText(Path.Combine(Generated(app), "MyWideModel.g.cs")));
    }

    [Fact]
    public void The_tool_installs_from_the_feed_and_works_on_the_zoo_and_on_a_spec_file()
    {
        var tools = Path.Combine(packed.Temporary.FullName, "tools");
        var work = Directory.CreateDirectory(Path.Combine(packed.Temporary.FullName, "tool-work")).FullName;
        File.WriteAllText(Path.Combine(work, "mine.seg"), "model Wide : SegT16 { backbone = Tiny(width = 192, heads = 6) }\n");
        Run("dotnet", packed.Temporary.FullName, "tool", "install", "Segmenter.Cli", "--tool-path", tools, "--add-source", Packages);
        var segmenter = Path.Combine(tools, "segmenter");
        Assert.Equal(14, JsonDocument.Parse(Run(segmenter, work, "list", "--json")).RootElement.GetArrayLength());
        var shown = JsonDocument.Parse(Run(segmenter, work, "show", "mine.seg:Wide", "--json")).RootElement;
        Assert.Equal(6, shown.GetProperty("spec").GetProperty("backbone").GetProperty("heads").GetInt32());
    }

    private static string Generated(string app) => Path.Combine(app, "obj", "generated", "Segmenter.Dsl.Generator", "Segmenter.Dsl.Generator.SegmenterGenerator");

    private string CopyConsumer(string name)
    {
        var consumer = Path.Combine(packed.Temporary.FullName, name);
        CopyDirectory(Path.Combine(TestPaths.Root, "samples", "Consumer"), consumer);
        WriteNuGetConfig(consumer);
        return consumer;
    }

    [Fact]
    public void The_template_stores_a_relative_feed_as_an_absolute_path()
    {
        // NuGet reads a relative source relative to nuget.config's folder, not to where `dotnet new` ran: store it absolute.
        var hive = Path.Combine(packed.Temporary.FullName, "hive-relative");
        var work = Directory.CreateDirectory(Path.Combine(packed.Temporary.FullName, "relative-feed")).FullName;
        Run("dotnet", work, "new", "install", Path.Combine(Packages, "Segmenter.Templates.0.1.0.nupkg"), "--debug:custom-hive", hive);
        var relative = Path.GetRelativePath(work, Packages);
        Assert.False(Path.IsPathRooted(relative));
        Run("dotnet", work, "new", "segmenter", "-n", "RelativeFeed", "-o", "app", "--feed", relative, "--debug:custom-hive", hive);
        var config = File.ReadAllText(Path.Combine(work, "app", "nuget.config"));
        Assert.Contains($"value=\"{Path.Combine(work, relative)}\"", config);
        Assert.True(Directory.Exists(Path.GetFullPath(Path.Combine(work, relative))));
    }

    /// <summary>The template, installed into a private hive, as `dotnet new segmenter` in an empty folder, then built.</summary>
    private string NewApp(string name)
    {
        var hive = Path.Combine(packed.Temporary.FullName, "hive-" + name);
        var app = Path.Combine(packed.Temporary.FullName, name);
        Run("dotnet", packed.Temporary.FullName, "new", "install", Path.Combine(Packages, "Segmenter.Templates.0.1.0.nupkg"), "--debug:custom-hive", hive);
        Run("dotnet", packed.Temporary.FullName, "new", "segmenter", "-n", name, "-o", app, "--feed", Packages, "--debug:custom-hive", hive);
        Run("dotnet", app, "build");
        return app;
    }

    private static void WriteNuGetConfig(string directory) =>
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="segmenter-local" value="{Packages}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(directory.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (file.Contains("/bin/") || file.Contains("/obj/")) continue;
            File.Copy(file, file.Replace(from, to));
        }
    }

    private string Run(string program, string directory, params string[] arguments) => Run(program, directory, 0, arguments);

    private string Run(string program, string directory, int expectedExit, params string[] arguments)
    {
        var (exit, text) = Processes.Run(program, directory, arguments);
        output.WriteLine($"$ {program} {string.Join(" ", arguments)}  (exit {exit})\n{(text.Length > 3000 ? text[^3000..] : text)}");
        if (expectedExit == 0) Assert.True(exit == 0, $"{program} {string.Join(" ", arguments)} failed (exit {exit}):\n{text}");
        else Assert.NotEqual(0, exit);
        return text;
    }
}
