using System.Collections.Generic;
using System.Linq;

namespace Segmenter.Tests;

/// <summary>The reference fixtures in tests/fixtures/reference (made by the authors' code) and zoo-style specs equivalent to their variant.yml files.</summary>
internal static class ReferenceFixtures
{
    /// <summary>Spec text per fixture folder.</summary>
    public static readonly IReadOnlyDictionary<string, string> Specs = new Dictionary<string, string>
    {
        ["micro-linear"] = "backbone Micro { layers = 2 width = 64 heads = 2 }\nmodel MicroLinear { backbone = Micro patch = 8 image = 32 classes = 5 }",
        ["micro-mask"] = "backbone Micro { layers = 2 width = 64 heads = 2 }\nmodel MicroMask { backbone = Micro patch = 8 image = 32 classes = 5 decoder = mask(layers = 2) }",
        ["micro-deit-mask"] = "backbone MicroDeit { layers = 2 width = 128 heads = 2 distilled = true }\nmodel MicroDeitMask { backbone = MicroDeit patch = 16 image = 48 classes = 4 decoder = mask(layers = 2) normalize = imagenet }",
    };

    /// <summary>The fixture folders, as xunit member data.</summary>
    public static IEnumerable<object[]> Names() => Specs.Keys.Select(k => new object[] { k });
}
