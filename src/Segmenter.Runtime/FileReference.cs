using System;

namespace Segmenter.Runtime;

/// <summary>Command-line references to a part of a file: <c>path:name</c> (a spec file's model, a safetensors file's tensor).</summary>
public static class FileReference
{
    /// <summary>
    /// Splits <paramref name="reference"/> at a ':' that follows the last path separator and is not a
    /// drive letter's (<c>C:\x</c>); the name is null when there is no such ':'.
    /// </summary>
    public static (string Path, string? Name) Split(string reference)
    {
        int colon = reference.LastIndexOf(':');
        int separator = Math.Max(reference.LastIndexOf('/'), reference.LastIndexOf('\\'));
        return colon > separator && colon > 1 ? (reference.Substring(0, colon), reference.Substring(colon + 1)) : (reference, null);
    }
}
