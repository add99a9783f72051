using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Segmenter.Tests;

/// <summary>
/// The product as a new user meets it: the packages packed from this repository into a local folder
/// feed (never project references), the `dotnet new segmenter` template, the consumer sample, and the
/// `segmenter` .NET tool — each built and run from a folder outside the repository.
/// </summary>
public sealed class PackagingTests : IDisposable
{
    private static readonly string Packages = Path.Combine(TestPaths.Root, "artifacts", "packages");
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-packaging-");
    private readonly ITestOutputHelper output;

    public PackagingTests(ITestOutputHelper output) => this.output = output;

    public void Dispose() => temporary.Delete(recursive: true);

    [Fact]
    public void The_template_the_consumer_sample_and_the_tool_work_from_the_packed_packages()
    {
        EnsurePackages();
        ForgetCachedSegmenterPackages();

        // The consumer sample: its own variant, trained, exported and run in ONNX Runtime.
        var consumer = Path.Combine(temporary.FullName, "Consumer");
        CopyDirectory(Path.Combine(TestPaths.Root, "samples", "Consumer"), consumer);
        WriteNuGetConfig(consumer);
        Run("dotnet", consumer, "build");
        var ran = Run("dotnet", consumer, "run", "--no-build");
        Assert.Contains("NarrowMask16 (Seg-N-Mask/16): width 256, 4 heads, patch 16, 21 classes, decoder layers 1", ran);
        Assert.Contains("max |Δ| against TorchSharp", ran);

        // A broken spec fails the build at its file, line and column.
        File.Copy(Path.Combine(consumer, "broken", "broken.seg"), Path.Combine(consumer, "specs", "broken.seg"));
        var failed = Run("dotnet", consumer, expectedExit: 1, "build");
        Assert.Contains(Path.Combine(consumer, "specs", "broken.seg") + "(6,14): error SEGDSL0203: Image size 60 is not a multiple of patch 16", failed);

        // The template, installed into a private hive, as `dotnet new segmenter` in an empty folder.
        var hive = Path.Combine(temporary.FullName, "hive");
        var app = Path.Combine(temporary.FullName, "MyApp");
        Run("dotnet", temporary.FullName, "new", "install", Path.Combine(Packages, "Segmenter.Templates.0.1.0.nupkg"), "--debug:custom-hive", hive);
        Run("dotnet", temporary.FullName, "new", "segmenter", "-n", "MyApp", "-o", app, "--feed", Packages, "--debug:custom-hive", hive);
        Run("dotnet", app, "build");
        var generated = Path.Combine(app, "obj", "generated", "Segmenter.Dsl.Generator", "Segmenter.Dsl.Generator.SegmenterGenerator");
        Assert.True(File.Exists(Path.Combine(generated, "MyModel.g.cs")));
        var appRun = Run("dotnet", app, "run", "--no-build");
        Assert.Contains("mIoU", appRun);
        Assert.Contains("max |Δ| against the model", appRun);

        // A new variant appears as a class on the next build.
        File.AppendAllText(Path.Combine(app, "specs", "my-model.seg"), "\nmodel MyWideModel : MyModel { backbone = MyBackbone(width = 192, heads = 6) }\n");
        Run("dotnet", app, "build");
        Assert.Contains("public sealed partial class MyWideModel", File.ReadAllText(Path.Combine(generated, "MyWideModel.g.cs")));

        // The tool, installed from the feed, works on the zoo and on the new project's spec file.
        var tools = Path.Combine(temporary.FullName, "tools");
        Run("dotnet", temporary.FullName, "tool", "install", "Segmenter.Cli", "--tool-path", tools, "--add-source", Packages);
        var segmenter = Path.Combine(tools, "segmenter");
        Assert.Equal(14, JsonDocument.Parse(Run(segmenter, temporary.FullName, "list", "--json")).RootElement.GetArrayLength());
        var shown = JsonDocument.Parse(Run(segmenter, app, "show", "specs/my-model.seg:MyWideModel", "--json")).RootElement;
        Assert.Equal(192, shown.GetProperty("spec").GetProperty("backbone").GetProperty("width").GetInt32());
    }

    /// <summary>Packs the packable projects unless packages newer than every source file are already there.</summary>
    private void EnsurePackages()
    {
        var expected = new[] { "Segmenter", "Segmenter.Spec", "Segmenter.Dsl", "Segmenter.Runtime", "Segmenter.Export", "Segmenter.Training", "Segmenter.Models", "Segmenter.Cli", "Segmenter.Templates" }
            .Select(id => Path.Combine(Packages, $"{id}.0.1.0.nupkg")).ToList();
        var newestSource = new[] { "src", "generators", "templates", "build", "specs" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(TestPaths.Root, d), "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Max(File.GetLastWriteTimeUtc);
        if (expected.All(File.Exists) && expected.Min(File.GetLastWriteTimeUtc) > newestSource) return;
        Run("dotnet", TestPaths.Root, "pack", "Segmenter.Packages.slnf", "-c", "Release", "-o", Packages);
        Assert.All(expected, p => Assert.True(File.Exists(p), p + " was not packed"));
    }

    /// <summary>Removes this project's own packages (only those) from the NuGet cache, so a freshly packed version is what gets restored.</summary>
    private static void ForgetCachedSegmenterPackages()
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (!Directory.Exists(cache)) return;
        foreach (var id in new[] { "segmenter", "segmenter.dsl", "segmenter.runtime", "segmenter.export", "segmenter.training", "segmenter.models", "segmenter.cli", "segmenter.templates" })
        {
            var folder = Path.Combine(cache, id);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
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
        var info = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(" ", arguments)} did not finish in 10 minutes");
        }
        var text = stdout.Result + stderr.Result;
        output.WriteLine($"$ {program} {string.Join(" ", arguments)}  (exit {process.ExitCode})\n{(text.Length > 3000 ? text[^3000..] : text)}");
        if (expectedExit == 0) Assert.True(process.ExitCode == 0, $"{program} {string.Join(" ", arguments)} failed (exit {process.ExitCode}):\n{text}");
        else Assert.NotEqual(0, process.ExitCode);
        return text;
    }
}
