using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Tests;

/// <summary>Numeric assertions on tensors that show the measured value when they fail.</summary>
internal static class TensorAssert
{
    /// <summary>max |<paramref name="difference"/>| ≤ <paramref name="tolerance"/>.</summary>
    public static void AtMost(Tensor difference, double tolerance, string what = "difference")
    {
        double largest = difference.abs().max().item<float>();
        Assert.True(largest <= tolerance, $"max |{what}| = {largest:E3}, expected at most {tolerance:E1}");
    }

    /// <summary>max |<paramref name="difference"/>| &lt; <paramref name="tolerance"/>.</summary>
    public static void Below(Tensor difference, double tolerance, string what = "difference")
    {
        double largest = difference.abs().max().item<float>();
        Assert.True(largest < tolerance, $"max |{what}| = {largest:E3}, expected below {tolerance:E1}");
    }
}
