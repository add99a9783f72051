using System.Linq;
using Xunit;

namespace Segmenter.Tests;

/// <summary>Each TorchSharp test assembly makes no temporary scalars either (<see cref="TemporaryScalars"/>): a collected one fails a test at random.</summary>
public sealed class TestAssemblyScalarTests
{
    [Fact]
    public void This_test_assembly_makes_no_temporary_scalar()
    {
        var found = TemporaryScalars.In(typeof(TestAssemblyScalarTests).Assembly.Location)
            .Where(f => !f.StartsWith("TemporaryScalarTests.", System.StringComparison.Ordinal))   // the check's own sample (Segmenter.Cli.Tests)
            .ToList();
        Assert.True(found.Count == 0, $"{string.Join("; ", found)}: pass a Scalars.Of(…) or Scalars.One, or use TensorArithmetic.Plus");
    }
}
