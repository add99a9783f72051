namespace Segmenter.Dsl.Binding;

/// <summary>
/// What an optional property is when it is not set: a constant (<see cref="Value"/>, written in spec syntax as
/// <see cref="Text"/>) or a rule computed from other values (<see cref="Rule"/>, e.g. the mask decoder's heads).
/// </summary>
public sealed class PropertyDefault
{
    private PropertyDefault(object? value, string text, bool isComputed)
    {
        Value = value;
        Text = text;
        IsComputed = isComputed;
    }

    /// <summary>The typed value (an int, double, bool, string, or a spec record); null for a computed default.</summary>
    public object? Value { get; }

    /// <summary>The constant in spec syntax (<c>0.1</c>, <c>linear</c>), or for a computed default its rule in words.</summary>
    public string Text { get; }

    /// <summary>True when the default is computed from other values rather than a constant.</summary>
    public bool IsComputed { get; }

    /// <summary>The rule of a computed default, or null.</summary>
    public string? Rule => IsComputed ? Text : null;

    /// <summary>A constant default.</summary>
    public static PropertyDefault Constant(object value, string text) => new(value, text, isComputed: false);

    /// <summary>A default computed by <paramref name="rule"/> (documentation: the binder applies it).</summary>
    public static PropertyDefault Computed(string rule) => new(null, rule, isComputed: true);

    /// <summary>The constant as <typeparamref name="T"/>.</summary>
    public T As<T>() => IsComputed ? throw new System.InvalidOperationException($"The default '{Text}' is computed, not a constant.") : (T)Value!;

    /// <inheritdoc />
    public override string ToString() => Text;
}
