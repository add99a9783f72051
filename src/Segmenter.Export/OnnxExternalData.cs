using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Onnx;
using Segmenter.Runtime;

namespace Segmenter.Export;

/// <summary>
/// ONNX's external data format: the weights in a file of their own beside the .onnx file, which keeps the graph and, for
/// each weight, where its bytes are (<c>location</c>, <c>offset</c>, <c>length</c>). ONNX Runtime maps such a file into
/// memory where a weight starts on a page boundary instead of parsing the weights into memory and copying them out again,
/// so a session opens holding about the weights once rather than twice (docs/performance.md, "ONNX Runtime's memory").
/// </summary>
public static class OnnxExternalData
{
    /// <summary>Weights smaller than this stay in the .onnx file (a data file entry per bias and norm is not worth a page).</summary>
    public const int MinimumBytes = 4096;

    /// <summary>Every weight in the data file starts at a multiple of this, so that ONNX Runtime can map it.</summary>
    public const int Alignment = 4096;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> with its weights in <c>&lt;file name&gt;.&lt;16 hex digits&gt;.data</c>
    /// beside it (the digits: a hash of the weights, so an unchanged export writes the same name). The data file is written
    /// first, then the .onnx file, each atomically, so that the .onnx file at <paramref name="path"/> always names a
    /// complete data file; data files of earlier exports to the same path are deleted after. <paramref name="model"/> is
    /// not changed. Returns the data file's path.
    /// </summary>
    public static string Save(ModelProto model, string path)
    {
        var full = Path.GetFullPath(path);
        var external = model.Clone();   // the weights' bytes are shared, not copied
        var moved = external.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.Default && t.RawData.Length >= MinimumBytes).ToArray();
        var dataName = $"{Path.GetFileName(full)}.{Hash(moved)}.data";
        var dataPath = Path.Combine(Path.GetDirectoryName(full)!, dataName);
        AtomicFile.Write(dataPath, stream =>
        {
            long offset = 0;
            foreach (var tensor in moved)
            {
                int padding = (int)((Alignment - offset % Alignment) % Alignment);
                stream.Write(new byte[padding]);
                offset += padding;
                tensor.RawData.WriteTo(stream);
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                offset += tensor.RawData.Length;
                tensor.RawData = ByteString.Empty;
            }
        });
        AtomicFile.Write(full, stream => external.WriteTo(stream));
        DeleteStale(full, keep: dataPath);
        return dataPath;
    }

    /// <summary>
    /// Deletes the data files that earlier exports to <paramref name="path"/> wrote (named as <see cref="Save"/> names them),
    /// but <paramref name="keep"/>: called after a new .onnx file is in place, which no longer refers to them.
    /// </summary>
    public static void DeleteStale(string path, string? keep)
    {
        foreach (var file in DataFiles(path))
            if (!string.Equals(file, keep, StringComparison.Ordinal)) File.Delete(file);
    }

    /// <summary>The data files beside <paramref name="path"/> named as <see cref="Save"/> names them (full paths).</summary>
    public static string[] DataFiles(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory)) return Array.Empty<string>();
        var pattern = new Regex("^" + Regex.Escape(Path.GetFileName(full)) + @"\.[0-9a-f]{16}\.data$");
        return Directory.EnumerateFiles(directory, Path.GetFileName(full) + ".*.data").Where(f => pattern.IsMatch(Path.GetFileName(f))).Select(Path.GetFullPath).ToArray();
    }

    private static string Hash(TensorProto[] tensors)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var tensor in tensors)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(tensor.Name));
            hash.AppendData(tensor.RawData.Span);
        }
        return Convert.ToHexString(hash.GetHashAndReset(), 0, 8).ToLowerInvariant();
    }
}
