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
        var text = new StringBuilder();
        text.Append("backbone ").Append(name).Append(" { layers = ").Append(b.Layers).Append("  width = ").Append(b.Width)
            .Append("  heads = ").Append(b.Heads);
        if (b.MlpWidth != 4 * b.Width) text.Append("  mlp_ratio = ").Append(Number((double)b.MlpWidth / b.Width));
        if (b.Distilled) text.Append("  distilled = true");
        text.Append(" }\n\n");

        if (!string.IsNullOrWhiteSpace(documentation))
        {
            foreach (var line in documentation!.Split('\n')) text.Append("/// ").Append(line.TrimEnd()).Append('\n');
        }
        text.Append("model ").Append(spec.Name).Append(" {\n");
        Property(text, "backbone", name);
        Property(text, "patch", spec.PatchSize.ToString(CultureInfo.InvariantCulture));
        Property(text, "image", spec.ImageHeight == spec.ImageWidth
            ? spec.ImageHeight.ToString(CultureInfo.InvariantCulture)
            : $"{spec.ImageHeight}x{spec.ImageWidth}");
        Property(text, "classes", spec.Dataset is not null ? spec.Dataset
            : spec.ClassNames.IsEmpty ? spec.NumClasses.ToString(CultureInfo.InvariantCulture)
            : "(" + string.Join(", ", spec.ClassNames.Select(Quote)) + ")");
        Property(text, "decoder", Decoder(spec.Decoder));
        Property(text, "drop_path", Number(spec.DropPathRate));
        Property(text, "dropout", Number(spec.Dropout));
        Property(text, "normalize", spec.Normalization == NormalizationSpec.Vit ? "vit"
            : spec.Normalization == NormalizationSpec.ImageNet ? "imagenet"
            : $"custom(mean = ({string.Join(", ", spec.Normalization.Mean.Select(Number))}), std = ({string.Join(", ", spec.Normalization.Std.Select(Number))}))");
        Property(text, "layer_norm_eps", Number(spec.LayerNormEpsilon));
        Property(text, "pos_embed_resize", spec.PositionEmbeddingResize == ResizeMode.Bicubic ? "bicubic" : "bilinear");
        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>A decoder as the spec language writes it: <c>linear</c> or <c>mask(layers = …, …)</c>.</summary>
    public static string Decoder(DecoderSpec d)
    {
        if (d.Kind == DecoderKind.Linear) return "linear";
        var arguments = $"layers = {d.Layers}, heads = {d.Heads}, width = {d.Width}";
        if (d.MlpWidth != 4 * d.Width) arguments += $", mlp_ratio = {Number((double)d.MlpWidth / d.Width)}";
        return $"mask({arguments}, dropout = {Number(d.Dropout)}, drop_path = {Number(d.DropPathRate)})";
    }

    /// <summary>Appends one aligned property line of a model declaration (<c>  name             = value</c>).</summary>
    public static void Property(StringBuilder text, string name, string value) =>
        text.Append("  ").Append(name.PadRight(17)).Append("= ").Append(value).Append('\n');

    /// <summary>A number as the spec language writes it: shortest round-trip form, always with a decimal point or exponent.</summary>
    public static string Number(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains(".") || text.Contains("E") ? text.Replace("E", "e") : text + ".0";
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
