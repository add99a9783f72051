using System;
using System.Collections.Generic;

namespace Segmenter.Spec;

/// <summary>Creates <see cref="EquatableArray{T}"/> values.</summary>
public static class EquatableArray
{
    /// <summary>An equatable copy of <paramref name="items"/>.</summary>
    public static EquatableArray<T> Create<T>(params T[] items) where T : IEquatable<T> => new(items);

    /// <summary>An equatable copy of <paramref name="items"/>.</summary>
    public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items) where T : IEquatable<T> => new(items);
}
