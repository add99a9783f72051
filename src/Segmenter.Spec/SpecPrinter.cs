using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Segmenter.Spec;

/// <summary>
/// Prints a resolved spec back as standalone <c>.seg</c> text: one backbone and one model
/// declaration, every value explicit. Compiling the text gives back an equal spec, so the text can
/// travel with weights (the project's checkpoint format) and be adopted into a project (<c>import</c>).
/// </summary>
public static class SpecPrinter
{
    /// <summary>The spec as .seg text; the backbone is named <paramref name="backboneName"/> (default: the spec's backbone name).</summary>
    public static string Print(SegmenterSpec spec, string? documentation = null, string? backboneName = null)
    {
        var b = spec.Backbone;
        var name = backboneName ?? b.Name;
        var properties = new List<(string, string)>
        {
            ("backbone", name),
            ("patch", spec.PatchSize.ToString(CultureInfo.InvariantCulture)),
            ("image", Size(spec.ImageHeight, spec.ImageWidth)),
            ("classes", spec.Dataset is not null ? spec.Dataset
                : spec.ClassNames.IsEmpty ? spec.NumClasses.ToString(CultureInfo.InvariantCulture)
                : "(" + string.Join(", ", spec.ClassNames.Select(Quote)) + ")"),
            ("decoder", Decoder(spec.Decoder)),
            ("drop_path", Number(spec.DropPathRate)),
            ("dropout", Number(spec.Dropout)),
            ("normalize", spec.Normalization == NormalizationSpec.Vit ? "vit"
                : spec.Normalization == NormalizationSpec.ImageNet ? "imagenet"
                : $"custom(mean = ({string.Join(", ", spec.Normalization.Mean.Select(Number))}), std = ({string.Join(", ", spec.Normalization.Std.Select(Number))}))"),
            ("layer_norm_eps", Number(spec.LayerNormEpsilon)),
            ("pos_embed_resize", spec.PositionEmbeddingResize == ResizeMode.Bicubic ? "bicubic" : "bilinear"),
        };
        return Backbone(name, b.Layers, b.Width, b.Heads, b.MlpWidth == 4 * b.Width ? null : (double)b.MlpWidth / b.Width, b.Distilled)
               + "\n" + Model(spec.Name, properties, documentation);
    }

    /// <summary>A one-line backbone declaration; <c>mlp_ratio</c> only when given, <c>distilled</c> only when true.</summary>
    public static string Backbone(string name, int layers, int width, int heads, double? mlpRatio, bool distilled)
    {
        var text = new StringBuilder();
        text.Append("backbone ").Append(name).Append(" { layers = ").Append(layers).Append("  width = ").Append(width)
            .Append("  heads = ").Append(heads);
        if (mlpRatio is { } ratio) text.Append("  mlp_ratio = ").Append(Number(ratio));
        if (distilled) text.Append("  distilled = true");
        return text.Append(" }\n").ToString();
    }

    /// <summary>A model declaration with one aligned property per line, after its '///' documentation if any.</summary>
    public static string Model(string name, IEnumerable<(string Name, string Value)> properties, string? documentation = null)
    {
        var text = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(documentation))
        {
            foreach (var line in documentation!.Split('\n')) text.Append("/// ").Append(line.TrimEnd()).Append('\n');
        }
        text.Append("model ").Append(name).Append(" {\n");
        foreach (var (property, value) in properties) text.Append("  ").Append(property.PadRight(17)).Append("= ").Append(value).Append('\n');
        return text.Append("}\n").ToString();
    }

    /// <summary>An image size as the spec language writes it: <c>512</c>, or <c>512x1024</c> (height x width).</summary>
    public static string Size(int height, int width) =>
        height == width ? height.ToString(CultureInfo.InvariantCulture) : $"{height}x{width}";

    /// <summary>A decoder as the spec language writes it: <c>linear</c> or <c>mask(layers = …, …)</c>.</summary>
    public static string Decoder(DecoderSpec d)
    {
        if (d.Kind == DecoderKind.Linear) return DecoderNames.Linear;
        var arguments = $"layers = {d.Layers}, heads = {d.Heads}, width = {d.Width}";
        if (d.MlpWidth != 4 * d.Width) arguments += $", mlp_ratio = {Number((double)d.MlpWidth / d.Width)}";
        return $"{DecoderNames.Mask}({arguments}, dropout = {Number(d.Dropout)}, drop_path = {Number(d.DropPathRate)})";
    }

    /// <summary>A number as the spec language writes it: shortest round-trip form, always with a decimal point or exponent.</summary>
    public static string Number(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains(".") || text.Contains("E") ? text.Replace("E", "e") : text + ".0";
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
