using System;
using System.IO;
using System.Linq;
using Segmenter.Tests;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>
/// The product's assemblies make no temporary TorchSharp scalars (<see cref="TemporaryScalars"/>): a clean-clone run once
/// failed in <c>toFloat</c> from the fused loss's <c>add</c>. Each product assembly's IL is read, and the check itself is
/// shown to find such calls.
/// </summary>
public sealed class TemporaryScalarTests
{
    private static readonly string[] Assemblies =
    {
        "Segmenter.Runtime", "Segmenter.Models", "Segmenter.Export", "Segmenter.Inference", "Segmenter.Training",
        "Segmenter.Reports", "Segmenter.Serving", "Segmenter.Tooling", "segmenter",
    };

    [Theory]
    [MemberData(nameof(AssemblyNames))]
    public void No_call_makes_a_temporary_scalar(string assembly)
    {
        var path = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        Assert.True(File.Exists(path), $"{assembly}.dll is not in the test's output folder {AppContext.BaseDirectory}");
        var found = TemporaryScalars.In(path).ToList();
        Assert.True(found.Count == 0, $"{assembly}: {string.Join("; ", found)}: pass a Scalars.Of(…) or Scalars.One, or use TensorArithmetic.Plus");
    }

    /// <summary>The check itself finds such calls: Tensor.add(Tensor) and a number converted to a scalar, in this test assembly.</summary>
    [Fact]
    public void The_check_finds_an_add_without_alpha_and_a_converted_number()
    {
        var found = TemporaryScalars.In(typeof(TemporaryScalarTests).Assembly.Location).ToList();
        Assert.Contains(found, f => f.Contains(nameof(AddWithoutAlpha)) && f.Contains("Tensor.add(Tensor)"));
        Assert.Contains(found, f => f.Contains(nameof(AddWithoutAlpha)) && f.Contains("Scalar.op_Implicit"));
    }

    private static TorchSharp.torch.Tensor AddWithoutAlpha(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) => a.add(b).mul(2.0);

    public static TheoryData<string> AssemblyNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Assemblies) data.Add(name);
        return data;
    }
}
