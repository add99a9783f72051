using System.Linq;
using Segmenter.Spec;

namespace Segmenter.Dsl.Emit.PyTorch;

/// <summary>
/// <c>SPEC</c>, every resolved property as a dict with the fields and names of the JSON that <c>segmenter show --json</c>
/// prints and the project's checkpoints store (<c>spec_json</c>), and <c>SPEC_TEXT</c>, the spec as .seg text.
/// </summary>
internal static class SpecDictionaryWriter
{
    public static void Write(SourceWriter w, SegmenterSpec spec)
    {
        var b = spec.Backbone;
        var d = spec.Decoder;
        var n = spec.Normalization;
        string S(string text) => PythonLiterals.String(text);
        string F(double value) => PythonLiterals.Float(value);

        w.Line("#: Every resolved property of the model: the JSON object `segmenter show --json` prints as \"spec\",");
        w.Line("#: and what the project's checkpoints store as their \"spec_json\" metadata.");
        w.Line("SPEC = {");
        w.Line($"    \"name\": {S(spec.Name)},");
        w.Line($"    \"paperName\": {S(spec.PaperName)},");
        w.Line($"    \"backbone\": {{\"name\": {S(b.Name)}, \"layers\": {b.Layers}, \"width\": {b.Width}, \"heads\": {b.Heads}, \"mlpWidth\": {b.MlpWidth}, \"distilled\": {PythonLiterals.Bool(b.Distilled)}}},");
        w.Line($"    \"patch\": {spec.PatchSize},");
        w.Line($"    \"image\": [{spec.ImageHeight}, {spec.ImageWidth}],");
        w.Line($"    \"grid\": [{spec.GridHeight}, {spec.GridWidth}],");
        w.Line($"    \"extraTokens\": {spec.ExtraTokens},");
        w.Line($"    \"classes\": {spec.NumClasses},");
        w.Line("    \"classNames\": [");
        var names = Enumerable.Range(0, spec.NumClasses).Select(i => S(spec.ClassName(i))).ToList();
        for (int start = 0; start < names.Count; start += 8)
            w.Line("        " + string.Join(", ", names.Skip(start).Take(8)) + ",");
        w.Line("    ],");
        w.Line($"    \"dataset\": {PythonLiterals.OptionalString(spec.Dataset)},");
        w.Line($"    \"decoder\": {{\"kind\": {S(DecoderNames.Of(d.Kind))}, \"layers\": {d.Layers}, \"width\": {d.Width}, \"heads\": {d.Heads}, \"mlpWidth\": {d.MlpWidth}, \"dropout\": {F(d.Dropout)}, \"dropPath\": {F(d.DropPathRate)}}},");
        w.Line($"    \"dropPath\": {F(spec.DropPathRate)},");
        w.Line($"    \"dropout\": {F(spec.Dropout)},");
        w.Line($"    \"normalization\": {{\"name\": {S(n.Name)}, \"mean\": {PythonLiterals.FloatList(n.Mean)}, \"std\": {PythonLiterals.FloatList(n.Std)}}},");
        w.Line($"    \"layerNormEpsilon\": {F(spec.LayerNormEpsilon)},");
        w.Line($"    \"positionEmbeddingResize\": {S(spec.PositionEmbeddingResize == ResizeMode.Bicubic ? "bicubic" : "bilinear")},");
        w.Line("}");
        w.Line();
        w.Line("#: The spec as standalone .seg text (stored with checkpoints as their \"spec\" metadata).");
        w.Line("SPEC_TEXT = (");
        foreach (var line in SpecPrinter.Print(spec).TrimEnd('\n').Split('\n'))
            w.Line("    " + S(line + "\n"));
        w.Line(")");
        w.Line();
    }
}
