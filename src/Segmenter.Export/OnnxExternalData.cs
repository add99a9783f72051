using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
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

    /// <summary>Every weight in the data file starts at a multiple of this (a page on Linux), so that ONNX Runtime can map it.</summary>
    public const int Alignment = 4096;

    /// <summary>Weights of a MiB or more start at a multiple of this, Windows' granularity for mapping a file.</summary>
    public const int LargeAlignment = 65536;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> with its weights in <c>&lt;file name&gt;.&lt;16 hex digits&gt;.data</c>
    /// beside it (the digits: a hash of the weights, so an unchanged export names the same file, which is then left as it
    /// is rather than written again). The data file is written first, then the .onnx file, each atomically, so that the
    /// .onnx file at <paramref name="path"/> always names a complete data file; data files of earlier exports to the same
    /// path are deleted after, as <see cref="DeleteStale"/> says. <paramref name="model"/> is not changed. Returns the data
    /// file's path.
    /// </summary>
    public static string Save(ModelProto model, string path)
    {
        var full = Path.GetFullPath(path);
        var external = model.Clone();   // the weights' bytes are shared, not copied
        var moved = external.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.Default && t.RawData.Length >= MinimumBytes).ToArray();
        var dataName = $"{Path.GetFileName(full)}.{Hash(moved)}.data";
        var dataPath = Path.Combine(Path.GetDirectoryName(full)!, dataName);
        var offsets = new long[moved.Length];
        long length = 0;
        for (int i = 0; i < moved.Length; i++)
        {
            int alignment = moved[i].RawData.Length >= 1 << 20 ? LargeAlignment : Alignment;
            offsets[i] = length + (alignment - length % alignment) % alignment;
            length = offsets[i] + moved[i].RawData.Length;
        }
        // The name holds a hash of every weight's name, length and bytes: a file of that name and length is this data.
        if (!(File.Exists(dataPath) && new FileInfo(dataPath).Length == length))
            AtomicFile.Write(dataPath, stream =>
            {
                long written = 0;
                for (int i = 0; i < moved.Length; i++)
                {
                    stream.Write(new byte[offsets[i] - written]);
                    moved[i].RawData.WriteTo(stream);
                    written = offsets[i] + moved[i].RawData.Length;
                }
            });
        for (int i = 0; i < moved.Length; i++)
        {
            var tensor = moved[i];
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offsets[i].ToString(CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(CultureInfo.InvariantCulture) });
            tensor.RawData = ByteString.Empty;
        }
        AtomicFile.Write(full, stream => external.WriteTo(stream));
        DeleteStale(full, keep: dataPath);
        return dataPath;
    }

    /// <summary>
    /// Deletes the data files that earlier exports to <paramref name="path"/> wrote (named as <see cref="Save"/> names them),
    /// but <paramref name="keep"/>, once a new .onnx file is in place that no longer refers to them. A data file that any
    /// .onnx file in the folder still names (a copy the user kept of an earlier export, say) stays, and so does one that
    /// cannot be deleted now (on Windows, while a session has it mapped): deleting is tidying, and never fails an export.
    /// Returns the files deleted.
    /// </summary>
    public static string[] DeleteStale(string path, string? keep)
    {
        var stale = DataFiles(path).Where(f => !string.Equals(f, keep, NameComparison)).ToList();
        if (stale.Count == 0) return Array.Empty<string>();
        var onnxFiles = Directory.EnumerateFiles(Path.GetDirectoryName(Path.GetFullPath(path))!, "*.onnx").ToArray();
        var deleted = new List<string>();
        foreach (var file in stale)
        {
            var name = Encoding.UTF8.GetBytes(Path.GetFileName(file));
            if (onnxFiles.Any(onnx => Contains(onnx, name))) continue;
            try
            {
                File.Delete(file);
                deleted.Add(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return deleted.ToArray();
    }

    /// <summary>The data files beside <paramref name="path"/> named as <see cref="Save"/> names them (full paths).</summary>
    public static string[] DataFiles(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory)) return Array.Empty<string>();
        var options = NameComparison == StringComparison.Ordinal ? RegexOptions.None : RegexOptions.IgnoreCase;
        var pattern = new Regex("^" + Regex.Escape(Path.GetFileName(full)) + @"\.[0-9a-f]{16}\.data$", options);
        return Directory.EnumerateFiles(directory, "*.data").Where(f => pattern.IsMatch(Path.GetFileName(f))).Select(Path.GetFullPath).ToArray();
    }

    /// <summary>How the file system compares names: by case on Linux, without it where Windows and macOS keep their defaults.</summary>
    private static StringComparison NameComparison => OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    /// <summary>Whether the file at <paramref name="path"/> holds <paramref name="bytes"/> anywhere (read in blocks, not whole).</summary>
    private static bool Contains(string path, byte[] bytes)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            var buffer = new byte[(1 << 20) + bytes.Length];
            int kept = 0;
            while (true)
            {
                int read = stream.Read(buffer, kept, buffer.Length - kept);
                if (read == 0) return false;
                int filled = kept + read;
                if (buffer.AsSpan(0, filled).IndexOf(bytes) >= 0) return true;
                kept = Math.Min(bytes.Length - 1, filled);
                Array.Copy(buffer, filled - kept, buffer, 0, kept);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;   // unreadable now: it may refer to the file, so the file stays
        }
    }

    private static string Hash(TensorProto[] tensors)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> lengths = stackalloc byte[8];
        foreach (var tensor in tensors)
        {
            var name = Encoding.UTF8.GetBytes(tensor.Name);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(lengths, name.Length);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(lengths[4..], tensor.RawData.Length);
            hash.AppendData(lengths);
            hash.AppendData(name);
            hash.AppendData(tensor.RawData.Span);
        }
        return Convert.ToHexString(hash.GetHashAndReset(), 0, 8).ToLowerInvariant();
    }
}
