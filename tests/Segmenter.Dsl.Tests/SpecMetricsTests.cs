using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using Segmenter.Spec;
using Xunit;

namespace Segmenter.Dsl.Tests;

/// <summary>Parameter counts by formula against the reference's own totals (tests/fixtures/reference/table1-state-dict-keys.txt).</summary>
public sealed class SpecMetricsTests
{
    /// <summary>Which zoo model each Table-1 listing of the reference corresponds to.</summary>
    public static readonly IReadOnlyDictionary<string, string> ZooNames = new Dictionary<string, string>
    {
        ["seg-t16-linear"] = "SegT16",
        ["seg-t16-mask"] = "SegTMask16",
        ["seg-s16-linear"] = "SegS16",
        ["seg-s16-mask"] = "SegSMask16",
        ["seg-b16-linear"] = "SegB16",
        ["seg-b16-mask"] = "SegBMask16",
        ["seg-b8-linear"] = "SegB8",
        ["seg-b32-linear"] = "SegB32",
        ["seg-bdeit16-mask"] = "SegBDeiTMask16",
        ["seg-l16-linear"] = "SegL16",
        ["seg-l16-mask-640"] = "SegLMask16",
        ["seg-l16-mask1-cityscapes-768"] = "SegLMask16Cityscapes",
    };

    [Fact]
    public void Parameter_totals_equal_the_references_less_its_unused_heads()
    {
        var zoo = SemanticsTests.CompileZoo();
        var header = new Regex(@"^## (\S+) total_params=(\d+) \(of which unused encoder.head\*: (\d+)\)");
        int checkedModels = 0;
        foreach (var line in File.ReadLines(Path.Combine(RepositoryPaths.Fixtures, "table1-state-dict-keys.txt")))
        {
            var match = header.Match(line);
            if (!match.Success) continue;
            var spec = zoo.Find(ZooNames[match.Groups[1].Value])!.Spec;
            long total = long.Parse(match.Groups[2].Value), heads = long.Parse(match.Groups[3].Value);
            Assert.Equal(total - heads, SpecMetrics.Parameters(spec).Total);
            Assert.Equal(heads, SpecMetrics.UnusedReferenceHeadParameters(spec));
            checkedModels++;
        }
        Assert.Equal(ZooNames.Count, checkedModels);
    }

    [Fact]
    public void Flops_grow_with_the_image_and_count_matrix_products()
    {
        var spec = SemanticsTests.CompileZoo().Find("SegT16")!.Spec;
        var flops = SpecMetrics.Flops(spec, 512, 512);
        // Patch embedding: 1024 patches × (3·16·16 → 192) multiply-adds, 2 FLOPs each.
        Assert.Equal(2.0 * 1024 * 768 * 192, flops.PatchEmbedding);
        // Linear decoder: 1024 tokens × 192 → 150.
        Assert.Equal(2.0 * 1024 * 192 * 150, flops.Decoder);
        // A 500×500 input is padded to 512×512.
        Assert.Equal(flops.Total, SpecMetrics.Flops(spec, 500, 500).Total);
        var larger = SpecMetrics.Flops(spec, 1024, 1024).Total;
        Assert.True(larger > 4 * flops.Total, $"1024×1024 costs {larger:E3} FLOPs, not more than 4 × {flops.Total:E3}");
        // About 21 GFLOPs: 0.63 s at ~33 GFLOP/s for the reference on this machine (ENVIRONMENT.md).
        Assert.InRange(flops.Total / 1e9, 20, 22);
    }
}
