using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Tooling;
using Xunit;
using Segmenter.Tests;

namespace Segmenter.Runtime.Tests;

/// <summary>The generated zoo against the reference's own state dicts (keys, order, shapes, totals).</summary>
public sealed class ZooModelTests
{
    public static IEnumerable<object[]> Listings() => ReferenceListings.ZooNames.Keys.Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(Listings))]
    public void State_dict_keys_and_shapes_equal_the_reference(string listing)
    {
        var entry = ModelResolver.Resolve(ReferenceListings.ZooNames[listing]);
        var (lines, total) = ReferenceListings.Table1[listing];
        using var model = entry.Create(null);

        var actual = model.StateDictShapes().Select(p => $"{p.Key} [{string.Join(", ", p.Shape)}]").ToList();
        var expected = lines.Where(l => !ReferenceListings.IsUnusedHead(l)).ToList();
        Assert.Equal(expected, actual);

        long heads = SpecMetrics.UnusedReferenceHeadParameters(entry.Spec);
        Assert.Equal(total - heads, model.ParameterCount);
        Assert.Equal(model.ParameterCount, SpecMetrics.Parameters(entry.Spec).Total);
    }

    [Fact]
    public void Every_zoo_architecture_the_paper_lists_is_there()
    {
        var names = ModelResolver.Zoo.Select(m => m.Name).ToHashSet();
        foreach (var name in ReferenceListings.ZooNames.Values.Append("SegBDeiT16").Append("SegLMask16PascalContext"))
            Assert.Contains(name, names);
        var pascal = ModelResolver.Resolve("SegLMask16PascalContext").Spec;
        Assert.Equal((480, 60, "background"), (pascal.ImageHeight, pascal.NumClasses, pascal.ClassNames[0]));
        var cityscapes = ModelResolver.Resolve("SegLMask16Cityscapes").Spec;
        Assert.Equal((768, 19, 1), (cityscapes.ImageHeight, cityscapes.NumClasses, cityscapes.Decoder.Layers));
        var deit = ModelResolver.Resolve("SegBDeiT16").Spec;
        Assert.True(deit.Backbone.Distilled);
        Assert.Equal(NormalizationSpec.ImageNet, deit.Normalization);
    }

    [Fact]
    public void The_run_time_library_holds_the_specs_the_zoo_was_generated_from()
    {
        var files = System.IO.Directory.GetFiles(TestPaths.Specs, "*.seg").OrderBy(f => f, System.StringComparer.Ordinal).ToList();
        Assert.Equal(files.Select(f => "zoo/" + System.IO.Path.GetFileName(f)), ModelResolver.ZooSpecs.Select(t => t.Path));
        Assert.Equal(files.Select(System.IO.File.ReadAllText), ModelResolver.ZooSpecs.Select(t => t.Text));
        var recompiled = SpecCompiler.Compile(ModelResolver.ZooSpecs.Select(t => Dsl.Text.SourceText.From(t.Text, t.Path)));
        Assert.Equal(ModelResolver.Zoo.Select(m => m.Spec), recompiled.Models.Select(m => m.Spec));
    }
}
