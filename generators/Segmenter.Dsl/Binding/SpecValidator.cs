using System;
using System.Linq;
using Segmenter.Dsl.Diagnostics;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// The validation stage: the architecture's rules between values that are each fine alone (heads divide the
/// width, the image is a multiple of the patch, the MLP width is whole, the mask decoder has heads). Each rule
/// reports through the value reader, so problems in library values are relocated like any other.
/// </summary>
internal static class SpecValidator
{
    /// <summary>Encoder heads must divide the width; reported at the heads value.</summary>
    public static bool HeadsDivideWidth(int width, int heads, SourceValue headsAt, string owner, ValueReader reader)
    {
        if (width % heads == 0) return true;
        reader.Report(DiagnosticDescriptors.HeadsDoNotDivideWidth, headsAt.Text, headsAt.Syntax.Span, owner, heads, width, Divisors(width));
        return false;
    }

    /// <summary>
    /// The MLP width, width × ratio, must be a whole number of at least 1; reported at the ratio if it is written,
    /// else failed silently (the default ratio cannot be wrong on its own).
    /// </summary>
    public static int? MlpWidth(int width, double ratio, string owner, SourceValue? ratioValue, ValueReader reader)
    {
        double product = width * ratio;
        double rounded = Math.Round(product);
        if (Math.Abs(product - rounded) > 1e-6 || rounded < 1)
        {
            if (ratioValue is { } at)
                reader.Report(DiagnosticDescriptors.MlpWidthNotWhole, at.Text, at.Syntax.Span, owner, width, ratio, product);
            else
                reader.Fail();
            return null;
        }
        return (int)rounded;
    }

    /// <summary>
    /// Each image side must be a multiple of the patch. Reported at the value the model itself sets (image first);
    /// if it sets neither, the model it inherits from has the same problem and reports it, so this one only fails.
    /// </summary>
    public static bool ImageMultipleOfPatch(int height, int width, int patch, SourceValue imageAt, SourceValue patchAt, string modelName, ValueReader reader)
    {
        if (height % patch == 0 && width % patch == 0) return true;
        var bad = height % patch != 0 ? height : width;
        var lower = bad / patch * patch;
        var suggestion = lower == 0 ? $"{patch}" : $"{lower} or {lower + patch}";
        var own = imageAt.Owner == modelName ? imageAt : patchAt.Owner == modelName ? patchAt : (SourceValue?)null;
        if (own is { } at)
            reader.Report(DiagnosticDescriptors.ImageNotMultipleOfPatch, at.Text, at.Syntax.Span,
                height == width ? $"{height}" : $"{height}x{width}", patch, suggestion);
        else
            reader.Fail();
        return false;
    }

    /// <summary>The most patches a model's training size may hold (its position embedding has one row for each).</summary>
    public const long MaximumPatches = 1 << 24;

    /// <summary>
    /// The training size must give at most <see cref="MaximumPatches"/> patches: the position embedding holds a row per
    /// patch, and the generated code counts tokens in an int. Reported where <see cref="ImageMultipleOfPatch"/> would be.
    /// </summary>
    public static bool GridFits(int height, int width, int patch, SourceValue imageAt, SourceValue patchAt, string modelName, ValueReader reader)
    {
        long patches = (long)(height / patch) * (width / patch);
        if (patches <= MaximumPatches) return true;
        var own = imageAt.Owner == modelName ? imageAt : patchAt.Owner == modelName ? patchAt : (SourceValue?)null;
        if (own is { } at)
            reader.Report(DiagnosticDescriptors.ValueOutOfRange, at.Text, at.Syntax.Span, at.Equals(imageAt) ? "image" : "patch",
                $"a training size of at most {MaximumPatches.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} patches (image ÷ patch, on each side)",
                $"{height / patch} × {width / patch} = {patches.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} patches of {patch}×{patch}");
        else
            reader.Fail();
        return false;
    }

    /// <summary>The mask decoder needs at least one head, and its heads must divide its width.</summary>
    public static bool DecoderHeads(int width, int heads, bool headsAreDefault, SourceValue decoderAt, SourceValue headsAt, ValueReader reader)
    {
        if (heads == 0)
        {
            reader.Report(DiagnosticDescriptors.DecoderHasNoHeads, decoderAt.Text, decoderAt.Syntax.Span, width);
            return false;
        }
        if (width % heads != 0)
        {
            reader.Report(DiagnosticDescriptors.DecoderHeadsDoNotDivideWidth, headsAt.Text, headsAt.Syntax.Span, heads,
                headsAreDefault ? " (width ÷ 64, the default)" : "", width, Divisors(width));
            return false;
        }
        return true;
    }

    private static string Divisors(int width)
    {
        var divisors = Enumerable.Range(1, Math.Min(width, 64)).Where(d => width % d == 0).ToList();
        return string.Join(", ", divisors);
    }
}
