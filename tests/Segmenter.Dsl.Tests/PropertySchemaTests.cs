using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Segmenter.Dsl.Binding;
using Segmenter.Spec;
using Xunit;

namespace Segmenter.Dsl.Tests;

public sealed class PropertySchemaTests
{
    private const string Tiny = "backbone Tiny { layers = 12 width = 192 heads = 3 }\n";

    /// <summary>
    /// The property tables of docs/spec-language.md are the schema's. With SEGMENTER_ACCEPT_SNAPSHOTS=1
    /// (never under CI=true) the blocks are rewritten instead of compared.
    /// </summary>
    [Fact]
    public void The_documented_property_tables_are_generated_from_the_schema()
    {
        var path = Path.Combine(RepositoryPaths.Docs, "spec-language.md");
        var original = File.ReadAllText(path).Replace("\r\n", "\n");
        var updated = original;
        foreach (var (block, table) in PropertySchema.DocumentationTables())
        {
            var pattern = new Regex($"(<!-- properties:{block}:begin -->\n)(.*?)(<!-- properties:{block}:end -->)", RegexOptions.Singleline);
            Assert.True(pattern.IsMatch(updated), $"docs/spec-language.md has no <!-- properties:{block}:begin --> … <!-- properties:{block}:end --> block");
            updated = pattern.Replace(updated, m => m.Groups[1].Value + table + m.Groups[3].Value, 1);
        }
        if (updated == original) return;

        bool accept = Environment.GetEnvironmentVariable("SEGMENTER_ACCEPT_SNAPSHOTS") == "1"
                      && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (accept)
        {
            File.WriteAllText(path, updated);
            return;
        }
        Assert.Fail("The property tables in docs/spec-language.md differ from PropertySchema. Regenerate them by running " +
                    "the tests with SEGMENTER_ACCEPT_SNAPSHOTS=1 (dotnet test tests/Segmenter.Dsl.Tests) and commit the page.");
    }

    [Fact]
    public void Every_constant_default_written_out_gives_the_same_model()
    {
        const string Model = "model M { backbone = Tiny patch = 16 image = 64 classes = 2 decoder = mask";
        var implicitDefaults = SpecCompiler.Compile(Tiny + Model + " }").Models.Single().Spec;

        var modelDefaults = PropertySchema.Model.Where(p => p.Default is { IsComputed: false } && p.Name != "decoder")
            .Select(p => $" {p.Name} = {p.Default!.Text}");
        var maskDefaults = PropertySchema.MaskDecoder.Where(p => p.Default is { IsComputed: false }).Select(p => $"{p.Name} = {p.Default!.Text}");
        var backboneDefaults = PropertySchema.Backbone.Where(p => p.Default is not null).Select(p => $" {p.Name} = {p.Default!.Text}");
        var text = "backbone Tiny { layers = 12 width = 192 heads = 3" + string.Concat(backboneDefaults) + " }\n"
                   + Model + "(" + string.Join(", ", maskDefaults) + ")" + string.Concat(modelDefaults) + " }";
        var explicitDefaults = SpecCompiler.Compile(text);
        Assert.True(explicitDefaults.Diagnostics.Count == 0, text + "\n" + string.Join("\n", explicitDefaults.Diagnostics));
        Assert.Equal(implicitDefaults, explicitDefaults.Models.Single().Spec);
    }

    [Fact]
    public void Typed_defaults_are_what_the_binder_fills_in()
    {
        var spec = SpecCompiler.Compile(Tiny + "model M { backbone = Tiny patch = 16 image = 64 classes = 2 }").Models.Single().Spec;
        Assert.Equal(PropertySchema.ModelProperties.Decoder.Default!.As<DecoderSpec>(), spec.Decoder);
        Assert.Equal(PropertySchema.ModelProperties.DropPath.Default!.As<double>(), spec.DropPathRate);
        Assert.Equal(PropertySchema.ModelProperties.Dropout.Default!.As<double>(), spec.Dropout);
        Assert.Equal(PropertySchema.ModelProperties.Normalize.Default!.As<NormalizationSpec>(), spec.Normalization);
        Assert.Equal(PropertySchema.ModelProperties.LayerNormEpsilon.Default!.As<double>(), spec.LayerNormEpsilon);
        Assert.Equal(PropertySchema.ModelProperties.PositionEmbeddingResize.Default!.As<ResizeMode>(), spec.PositionEmbeddingResize);
        Assert.Equal((int)(192 * PropertySchema.BackboneProperties.MlpRatio.Default!.As<double>()), spec.Backbone.MlpWidth);
    }

    [Fact]
    public void Required_properties_have_no_default_and_computed_defaults_a_rule()
    {
        Assert.Equal(new[] { "backbone", "patch", "image", "classes" }, PropertySchema.Model.Where(p => p.Required).Select(p => p.Name));
        Assert.Equal(new[] { "layers", "width", "heads" }, PropertySchema.Backbone.Where(p => p.Required).Select(p => p.Name));
        Assert.Equal(new[] { "heads", "width" }, PropertySchema.MaskDecoder.Where(p => p.Default!.IsComputed).Select(p => p.Name));
        Assert.All(PropertySchema.MaskDecoder.Where(p => p.Default!.IsComputed), p => Assert.Null(p.Default!.Value));
    }

    [Fact]
    public void Range_messages_come_from_the_schema()
    {
        var result = SpecCompiler.Compile(Tiny + "model M { backbone = Tiny patch = 5000 image = 64 classes = 2 layer_norm_eps = 0 }");
        Assert.Contains(result.Diagnostics, d => d.Id == "SEGDSL0104" && d.Message.Contains("between 1 and 4096"));
        Assert.Contains(result.Diagnostics, d => d.Id == "SEGDSL0104" && d.Message.Contains("≥ 1E-30 and < 1"));
    }
}
