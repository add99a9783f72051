using System.Linq;
using Segmenter.Spec;
using Xunit;

namespace Segmenter.Dsl.Tests;

public sealed class SpecPrinterTests
{
    [Fact]
    public void Printing_a_spec_and_compiling_it_gives_the_same_spec()
    {
        var zoo = SemanticsTests.CompileZoo().Models.Select(m => m.Spec).ToList();
        var custom = SpecCompiler.Compile("backbone W { layers = 3 width = 96 heads = 3 mlp_ratio = 2.5 }\nmodel Custom { backbone = W patch = 8 image = 64x128 classes = (\"a \\\"b\\\"\", \"c\") decoder = mask(layers = 1, width = 64, heads = 2, mlp_ratio = 3, dropout = 0.2, drop_path = 0.05) normalize = custom(mean = (0.1, 0.2, 0.3), std = (1, 1, 2)) layer_norm_eps = 1e-6 pos_embed_resize = bicubic dropout = 0.1 drop_path = 0 }").Models.Single().Spec;
        foreach (var spec in zoo.Append(custom))
        {
            var text = SpecPrinter.Print(spec);
            var again = SpecCompiler.Compile(text);
            Assert.True(again.Diagnostics.Count == 0, text + "\n" + string.Join("\n", again.Diagnostics));
            Assert.Equal(spec, again.Models.Single().Spec);
        }
    }
}
