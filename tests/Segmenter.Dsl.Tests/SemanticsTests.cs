using System.IO;
using System.Linq;
using Segmenter.Dsl.Text;
using Segmenter.Spec;
using Xunit;

namespace Segmenter.Dsl.Tests;

public sealed class SemanticsTests
{
    private const string Tiny = "backbone Tiny { layers = 12 width = 192 heads = 3 }\n";

    internal static SpecCompilation CompileZoo() =>
        SpecCompiler.Compile(Directory.GetFiles(RepositoryPaths.Specs, "*.seg").Select(f => SourceText.From(File.ReadAllText(f), f)));

    private static SegmenterSpec Single(string text)
    {
        var result = SpecCompiler.Compile(text);
        Assert.Empty(result.Diagnostics);
        return result.Models.Last().Spec;
    }

    [Fact]
    public void The_zoo_compiles_without_diagnostics()
    {
        var zoo = CompileZoo();
        Assert.Empty(zoo.Diagnostics);
        Assert.Equal(
            new[] { "SegB16", "SegB32", "SegB8", "SegBDeiT16", "SegBDeiTMask16", "SegBMask16", "SegL16", "SegLMask16", "SegLMask16Cityscapes", "SegLMask16PascalContext", "SegS16", "SegSMask16", "SegT16", "SegTMask16" },
            zoo.Models.Select(m => m.Spec.Name).OrderBy(n => n, System.StringComparer.Ordinal));
    }

    [Fact]
    public void Defaults_are_the_papers()
    {
        var spec = Single(Tiny + "model M { backbone = Tiny patch = 16 image = 512 classes = 150 }");
        Assert.Equal(DecoderSpec.Linear, spec.Decoder);
        Assert.Equal(0.1, spec.DropPathRate);
        Assert.Equal(0.0, spec.Dropout);
        Assert.Equal(1e-5, spec.LayerNormEpsilon);
        Assert.Equal(ResizeMode.Bilinear, spec.PositionEmbeddingResize);
        Assert.Equal(NormalizationSpec.Vit, spec.Normalization);
        Assert.Equal(768, spec.Backbone.MlpWidth);
        Assert.Equal((32, 32), (spec.GridHeight, spec.GridWidth));
        Assert.Equal(1, spec.ExtraTokens);
    }

    [Fact]
    public void Derived_models_override_inherited_properties_and_say_where_each_came_from()
    {
        var result = SpecCompiler.Compile(Tiny + "model A { backbone = Tiny patch = 16 image = 512 classes = ade20k }\nmodel B : A { patch = 8 decoder = mask(layers = 1) }");
        var b = result.Find("B")!;
        Assert.Equal(8, b.Spec.PatchSize);
        Assert.Equal(150, b.Spec.NumClasses);
        Assert.Equal("wall", b.Spec.ClassNames[0]);
        Assert.Contains("patch = 8", b.Resolution);
        Assert.Contains("classes = ade20k  (from A)", b.Resolution);
        Assert.Contains("dropout = 0.0  (default)", b.Resolution);
    }

    [Fact]
    public void The_mask_decoder_takes_width_over_64_heads_like_the_reference()
    {
        var spec = Single(Tiny + "model M { backbone = Tiny patch = 16 image = 512 classes = 150 decoder = mask }");
        Assert.Equal(new DecoderSpec(DecoderKind.Mask, 2, 192, 3, 768, 0.1, 0.0), spec.Decoder);
        var explicitHeads = Single(Tiny + "model M { backbone = Tiny patch = 16 image = 512 classes = 150 decoder = mask(layers = 1, heads = 4, width = 256, dropout = 0) }");
        Assert.Equal(new DecoderSpec(DecoderKind.Mask, 1, 256, 4, 1024, 0.0, 0.0), explicitHeads.Decoder);
    }

    [Fact]
    public void Backbone_calls_override_backbone_properties()
    {
        var spec = Single(Tiny + "model M { backbone = Tiny(width = 256, heads = 4, distilled = true) patch = 16 image = 512 classes = 21 }");
        Assert.Equal(new BackboneSpec("Tiny", 12, 256, 4, 1024, true), spec.Backbone);
        Assert.Equal(2, spec.ExtraTokens);
    }

    [Fact]
    public void Backbones_inherit_and_may_live_in_another_file()
    {
        var backbones = SourceText.From(Tiny + "backbone Wide : Tiny { width = 384 heads = 6 mlp_ratio = 2 }", "backbones.seg");
        var models = SourceText.From("model M { backbone = Wide patch = 16 image = 512x1024 classes = (\"sky\", \"road\") }", "models.seg");
        var result = SpecCompiler.Compile(new[] { models, backbones });
        Assert.Empty(result.Diagnostics);
        var spec = result.Models.Single().Spec;
        Assert.Equal(new BackboneSpec("Wide", 12, 384, 6, 768, false), spec.Backbone);
        Assert.Equal((512, 1024), (spec.ImageHeight, spec.ImageWidth));
        Assert.Equal((32, 64), (spec.GridHeight, spec.GridWidth));
        Assert.Equal(new[] { "sky", "road" }, spec.ClassNames);
    }

    [Fact]
    public void Normalization_may_be_a_preset_or_custom()
    {
        Assert.Equal(NormalizationSpec.ImageNet, Single(Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = 2 normalize = deit }").Normalization);
        var custom = Single(Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = 2 normalize = custom(mean = (0.1, 0.2, 0.3), std = (1, 2, 3)) }").Normalization;
        Assert.Equal(new NormalizationSpec("custom", EquatableArray.Create(0.1, 0.2, 0.3), EquatableArray.Create(1.0, 2.0, 3.0)), custom);
    }

    [Fact]
    public void Specs_are_value_equal_and_a_comment_does_not_change_them()
    {
        var a = SpecCompiler.Compile(Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = 2 }").Models.Single();
        var b = SpecCompiler.Compile("// note\n" + Tiny + "model M {\n  backbone = Tiny // the backbone\n  patch = 16 image = 64 classes = 2 }").Models.Single();
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void The_built_in_zoo_provides_backbones_and_bases_unless_shadowed()
    {
        var mine = SpecCompiler.Compile(new[] { SourceText.From("model Mine : SegT16 { classes = 21 }\nmodel Wide { backbone = Base(width = 512, heads = 8) patch = 16 image = 256 classes = 3 }", "mine.seg") }, ZooLibrary.Texts);
        Assert.Empty(mine.Diagnostics);
        Assert.Equal(new[] { "Mine", "Wide" }, mine.Models.Select(m => m.Spec.Name));
        Assert.Equal(new BackboneSpec("Tiny", 12, 192, 3, 768, false), mine.Find("Mine")!.Spec.Backbone);
        Assert.Equal(21, mine.Find("Mine")!.Spec.NumClasses);

        var shadowed = SpecCompiler.Compile(new[] { SourceText.From("backbone Base { layers = 2 width = 64 heads = 1 }\nmodel M { backbone = Base patch = 16 image = 64 classes = 3 }", "m.seg") }, ZooLibrary.Texts);
        Assert.Equal(2, shadowed.Models.Single().Spec.Backbone.Layers);
    }

    [Fact]
    public void A_problem_with_an_inherited_zoo_value_is_reported_in_the_users_file()
    {
        // The image size comes from the zoo, the patch from the user: the error is at the user's patch.
        var result = SpecCompiler.Compile(new[] { SourceText.From("model Mine : SegT16 { patch = 20 }", "mine.seg") }, ZooLibrary.Texts);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("SEGDSL0203", diagnostic.Id);
        Assert.Equal("mine.seg", diagnostic.Path);
        Assert.Equal(new Text.TextSpan(30, 2), diagnostic.Span);

        // A mask decoder whose default heads do not divide a width the user overrode: the decoder value is the zoo's, so the
        // error is relocated to the user's declaration rather than pointing into a file the user cannot see.
        var relocated = SpecCompiler.Compile(new[] { SourceText.From("model Wide : SegTMask16 { backbone = Tiny(width = 200, heads = 4) }", "wide.seg") }, ZooLibrary.Texts);
        var heads = Assert.Single(relocated.Diagnostics);
        Assert.Equal(("SEGDSL0202", "wide.seg", new Text.TextSpan(6, 4)), (heads.Id, heads.Path, heads.Span));
    }

    [Fact]
    public void Paper_names_follow_the_paper()
    {
        var zoo = CompileZoo();
        Assert.Equal("Seg-T/16", zoo.Find("SegT16")!.Spec.PaperName);
        Assert.Equal("Seg-B-Mask/16", zoo.Find("SegBMask16")!.Spec.PaperName);
        Assert.Equal("Seg-B†-Mask/16", zoo.Find("SegBDeiTMask16")!.Spec.PaperName);
    }
}
