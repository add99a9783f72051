using System;

namespace Segmenter.Tooling;

/// <summary>Command-line arguments naming a part of a file: <c>path:name</c> (a spec file's model, a safetensors file's tensor).</summary>
public static class PathArgument
{
    /// <summary>
    /// Splits <paramref name="argument"/> at a ':' that follows the last path separator and is not a
    /// drive letter's (<c>C:\x</c>); the name is null when there is no such ':'.
    /// </summary>
    public static (string Path, string? Name) Split(string argument)
    {
        int colon = argument.LastIndexOf(':');
        int separator = Math.Max(argument.LastIndexOf('/'), argument.LastIndexOf('\\'));
        return colon > separator && colon > 1 ? (argument.Substring(0, colon), argument.Substring(colon + 1)) : (argument, null);
    }
}
