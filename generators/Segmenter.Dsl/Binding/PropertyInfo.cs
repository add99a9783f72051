using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Spec;

namespace Segmenter.Dsl.Binding;

/// <summary>
/// A property (or call argument) the language knows: its name, the kind of value and the range it takes,
/// its default (none when it is required), an example value for messages, and what it means.
/// <see cref="PropertySchema"/> holds them all; the binder, the messages and docs/spec-language.md follow it.
/// </summary>
/// <param name="Name">The property's name as written in specs.</param>
/// <param name="Kind">The kind of value it takes.</param>
/// <param name="Example">An example value in spec syntax, for "add e.g. name = example" messages.</param>
/// <param name="Description">What it means (one sentence; Markdown code spans allowed).</param>
public sealed record PropertyInfo(string Name, ValueKind Kind, string Example, string Description)
{
    /// <summary>The values allowed (integers, numbers, each side of a size, each element of a triple, a class count); null when the kind has none.</summary>
    public ValueRange? Range { get; init; }

    /// <summary>The value when unset; null for a required property.</summary>
    public PropertyDefault? Default { get; init; }

    /// <summary>The words a <see cref="ValueKind.Choice"/> (or normalisation) property accepts.</summary>
    public IReadOnlyList<string> Choices { get; init; } = Array.Empty<string>();

    /// <summary>True if every model (or backbone) must set it, directly or by inheritance.</summary>
    public bool Required => Default is null;

    /// <summary>The value's type in words, for documentation: "integer 1–1000", "number in [0, 1)", "`bilinear`, `bicubic`".</summary>
    public string TypeText => Kind switch
    {
        ValueKind.Integer => "integer " + Range!.DescribeForDocs(integers: true),
        ValueKind.Number => "number " + (double.IsPositiveInfinity(Range!.Maximum) ? "" : "in ") + Range.DescribeForDocs(integers: false),
        ValueKind.Boolean => "`true`/`false`",
        ValueKind.Size => "integer or size `HxW`, sides " + Range!.DescribeForDocs(integers: true),
        ValueKind.Choice => string.Join(", ", Choices.Select(c => $"`{c}`")),
        ValueKind.Backbone => "backbone name, or name with overrides",
        ValueKind.Classes => "integer " + Range!.DescribeForDocs(integers: true) + ", preset ("
            + string.Join(", ", DatasetPresets.All.Select(p => $"`{p.Name}`")) + ") or tuple of strings",
        ValueKind.Decoder => $"`{DecoderNames.Linear}` or `{DecoderNames.Mask}(…)`",
        ValueKind.Normalization => string.Join(", ", Choices.Select(c => c == "custom" ? "`custom(mean = …, std = …)`" : $"`{c}`")),
        ValueKind.Triple => "three numbers `(r, g, b)`" + (double.IsNegativeInfinity(Range!.Minimum) ? "" : ", each " + Range.DescribeForDocs(integers: false)),
        _ => Kind.ToString(),
    };

    /// <summary>The default for documentation: "required", the constant in code quotes, or the rule.</summary>
    public string DefaultText => Default is null ? "required" : Default.IsComputed ? Default.Text : $"`{Default.Text}`";
}
