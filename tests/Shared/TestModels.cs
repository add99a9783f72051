using System.Collections.Generic;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Tooling;
using Segmenter.Runtime;

namespace Segmenter.Tests;

/// <summary>Small models compiled once per test run from specs written here, to keep tests fast.</summary>
internal static class TestModels
{
    public const string Specs = """
        backbone Micro { layers = 2 width = 64 heads = 2 }
        backbone MicroDeit { layers = 2 width = 128 heads = 2 distilled = true }

        model TinyLinear { backbone = Micro patch = 8 image = 32 classes = 5 }
        model TinyMask : TinyLinear { decoder = mask(layers = 2) }
        model TinyDeitMask { backbone = MicroDeit patch = 16 image = 48 classes = 4 decoder = mask(layers = 2) normalize = imagenet }
        model TinyRect : TinyLinear { image = 16x32 patch = 4 pos_embed_resize = bicubic }
        model TinyDropout : TinyLinear { dropout = 0.2 drop_path = 0.5 }
        """;

    private static readonly System.Lazy<IReadOnlyDictionary<string, ModelEntry>> Entries = new(() =>
    {
        var compilation = SpecCompiler.Compile(Specs, "test-models.seg");
        if (compilation.HasErrors) throw new System.InvalidOperationException(string.Join("\n", compilation.Diagnostics));
        return DynamicModels.Load(compilation.Models).ToDictionary(e => e.Name);
    });

    public static ModelEntry Get(string name) => Entries.Value[name];

    public static IEnumerable<object[]> Names() => new[] { "TinyLinear", "TinyMask", "TinyDeitMask", "TinyRect" }.Select(n => new object[] { n });
}
