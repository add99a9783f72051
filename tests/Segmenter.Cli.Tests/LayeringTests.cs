using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Segmenter.Tests;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>
/// The layering of docs/architecture.md, checked on the built assemblies: each assembly references only what
/// its layer may use, and the runtime's and the zoo's whole dependency closures stay free of the compiler,
/// Roslyn, ONNX and YAML. A reference that breaks the layering fails here, naming it.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string[] Framework = { "System", "System.*", "mscorlib", "netstandard", "Microsoft.Win32.*", "Microsoft.CSharp" };
    private static readonly string[] Torch = { "TorchSharp", "Razorvine.Pickle", "Google.Protobuf" };
    private static readonly string[] Onnx = { "OnnxSharp", "Microsoft.ML.OnnxRuntime" };

    // SkiaSharp may appear in closures: TorchSharp itself depends on it (torchvision image IO).

    /// <summary>Each product assembly and the assemblies it may reference directly (patterns end in '*').</summary>
    public static TheoryData<string, string[]> Allowed => new()
    {
        { "Segmenter.Spec", Framework },
        { "Segmenter.Dsl", Framework.Append("Segmenter.Spec").ToArray() },
        { "Segmenter.Runtime", Framework.Concat(Torch).Append("Segmenter.Spec").ToArray() },
        { "Segmenter.Export", Framework.Concat(Torch).Concat(Onnx).Concat(new[] { "Segmenter.Spec", "Segmenter.Runtime" }).ToArray() },
        { "Segmenter.Inference", Framework.Concat(Torch).Concat(new[] { "SkiaSharp", "Segmenter.Spec", "Segmenter.Runtime" }).ToArray() },
        { "Segmenter.Training", Framework.Concat(Torch).Concat(new[] { "SkiaSharp", "Segmenter.Spec", "Segmenter.Runtime", "Segmenter.Inference" }).ToArray() },
        { "Segmenter.Models", Framework.Concat(Torch).Concat(new[] { "Segmenter.Spec", "Segmenter.Runtime", "Segmenter.Export" }).ToArray() },
        { "Segmenter.Reports", Framework.Concat(Torch).Concat(new[] { "ScottPlot", "SkiaSharp", "Segmenter.Spec", "Segmenter.Runtime", "Segmenter.Inference", "Segmenter.Training" }).ToArray() },
        // The server: ASP.NET Core and prometheus-net over the inference and export layers; never the compiler, training or the CLI.
        { "Segmenter.Serving", Framework.Concat(Torch).Concat(Onnx).Concat(new[] { "Microsoft.AspNetCore", "Microsoft.AspNetCore.*", "Microsoft.Extensions.*", "Microsoft.Net.Http.Headers", "Prometheus.NetStandard", "prometheus-net", "SkiaSharp", "Segmenter.Spec", "Segmenter.Runtime", "Segmenter.Export", "Segmenter.Inference" }).ToArray() },
        { "Segmenter.Tooling", Framework.Concat(Torch).Concat(Onnx).Concat(new[] { "Microsoft.CodeAnalysis", "Microsoft.CodeAnalysis.*", "YamlDotNet", "Segmenter.Spec", "Segmenter.Dsl", "Segmenter.Runtime", "Segmenter.Export", "Segmenter.Models" }).ToArray() },
    };

    [Theory]
    [MemberData(nameof(Allowed))]
    public void Each_assembly_references_only_its_layers(string assembly, string[] allowed)
    {
        // "System.*" stands for the framework's assemblies; System.CommandLine is a package only the CLI may use.
        var forbidden = References(Find(assembly)).Where(r => !allowed.Any(p => Matches(r, p)) || r == "System.CommandLine").ToList();
        Assert.True(forbidden.Count == 0, $"{assembly} references {string.Join(", ", forbidden)}, which its layer may not use (docs/architecture.md)");
    }

    [Theory]
    [InlineData("Segmenter.Runtime", new[] { "Segmenter.Dsl", "Microsoft.CodeAnalysis*", "OnnxSharp", "Microsoft.ML.OnnxRuntime*", "YamlDotNet", "System.CommandLine" })]
    [InlineData("Segmenter.Models", new[] { "Segmenter.Dsl", "Microsoft.CodeAnalysis*", "YamlDotNet", "System.CommandLine" })]
    [InlineData("Segmenter.Training", new[] { "Segmenter.Dsl", "Microsoft.CodeAnalysis*", "OnnxSharp", "Microsoft.ML.OnnxRuntime*", "YamlDotNet", "System.CommandLine" })]
    [InlineData("Segmenter.Serving", new[] { "Segmenter.Dsl", "Microsoft.CodeAnalysis*", "YamlDotNet", "System.CommandLine", "Segmenter.Training", "Segmenter.Tooling", "Segmenter.Models" })]
    public void Dependency_closures_stay_free_of_upper_layers(string assembly, string[] forbidden)
    {
        var closure = Closure(assembly);
        var found = closure.Where(r => forbidden.Any(p => Matches(r, p))).ToList();
        Assert.True(found.Count == 0, $"{assembly} depends (transitively) on {string.Join(", ", found)}; closure: {string.Join(", ", closure.OrderBy(n => n))}");
    }

    [Fact]
    public void The_generator_loads_only_the_compiler_the_contract_and_Roslyn()
    {
        var generator = Path.Combine(TestPaths.Root, "generators", "Segmenter.Dsl.Generator", "bin");
        var file = Directory.Exists(generator) ? Directory.GetFiles(generator, "Segmenter.Dsl.Generator.dll", SearchOption.AllDirectories).FirstOrDefault() : null;
        Assert.True(file is not null, $"the generator is not built under {generator}");
        var forbidden = References(file!).Where(r => !Framework.Concat(new[] { "Microsoft.CodeAnalysis", "Microsoft.CodeAnalysis.*", "Segmenter.Dsl", "Segmenter.Spec" }).Any(p => Matches(r, p))).ToList();
        Assert.True(forbidden.Count == 0, $"the generator references {string.Join(", ", forbidden)}");
    }

    private static IReadOnlySet<string> Closure(string assembly)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(new[] { assembly });
        while (pending.Count > 0)
        {
            var name = pending.Pop();
            if (!seen.Add(name)) continue;
            var path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
            if (!File.Exists(path)) continue;   // the framework's own assemblies are not in the output folder
            foreach (var reference in References(path)) pending.Push(reference);
        }
        seen.Remove(assembly);
        return seen;
    }

    private static string Find(string assembly)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        Assert.True(File.Exists(path), $"{assembly}.dll is not in the test's output folder {AppContext.BaseDirectory}");
        return path;
    }

    private static IEnumerable<string> References(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new PEReader(stream);
        var metadata = reader.GetMetadataReader();
        return metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToList();
    }

    private static bool Matches(string name, string pattern) =>
        pattern.EndsWith('*') ? name.StartsWith(pattern[..^1], StringComparison.Ordinal) : name == pattern;
}
