namespace Segmenter.Dsl.Binding;

/// <summary>What kind of value a property (or call argument) takes.</summary>
public enum ValueKind
{
    /// <summary>An integer within the property's range.</summary>
    Integer,
    /// <summary>A number within the property's range.</summary>
    Number,
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,
    /// <summary>A size: an integer (square) or <c>HxW</c>, each side within the property's range.</summary>
    Size,
    /// <summary>One of the property's choice words.</summary>
    Choice,
    /// <summary>A backbone name, optionally called with overrides of its properties: <c>Base(distilled = true)</c>.</summary>
    Backbone,
    /// <summary>A class count (within the range), a dataset preset or a tuple of class names.</summary>
    Classes,
    /// <summary>A decoder: <c>linear</c> or <c>mask(…)</c>.</summary>
    Decoder,
    /// <summary>A normalisation preset or <c>custom(mean = …, std = …)</c>.</summary>
    Normalization,
    /// <summary>Three numbers, one per RGB channel, each within the range.</summary>
    Triple,
}
