using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length, a
/// JSON header of {name: {dtype, shape, data_offsets}} plus optional "__metadata__" strings, then the
/// raw little-endian data. Files are validated as they are read; writes are atomic.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeaderBytes = 100L << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a whole file; an <see cref="InvalidDataException"/> naming the file if it is not valid safetensors.</summary>
    public static SafeTensorsFile Read(string path)
    {
        using var stream = OpenForReading(path);
        return ReadFrom(stream, path);
    }

    /// <summary>Reads safetensors from a seekable stream; every problem is an <see cref="InvalidDataException"/> naming <paramref name="path"/>.</summary>
    internal static SafeTensorsFile ReadFrom(Stream stream, string path)
    {
        try
        {
            return Read(stream, path);
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException)
        {
            throw new InvalidDataException($"{path}: not a valid safetensors file ({e.Message})", e);
        }
    }

    /// <summary>True if the file starts like a safetensors file (a plausible header length followed by '{').</summary>
    public static bool LooksLikeSafeTensors(string path)
    {
        using var stream = OpenForReading(path);
        var start = new byte[9];
        if (stream.Read(start, 0, 9) < 9) return false;
        var length = BinaryPrimitives.ReadUInt64LittleEndian(start);
        return length > 1 && length <= (ulong)MaxHeaderBytes && (ulong)stream.Length >= 8 + length && start[8] == (byte)'{';
    }

    private static FileStream OpenForReading(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    /// <summary>
    /// The "__metadata__" strings of a safetensors file, read from its header alone (the tensors' data is not read), after
    /// the header is checked as <see cref="Read(string)"/> checks it — so a truncated or padded file is refused here too;
    /// an <see cref="InvalidDataException"/> naming the file if it is not valid.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var stream = OpenForReading(path);
        try
        {
            return ReadLayout(stream, path).Metadata;
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException)
        {
            throw new InvalidDataException($"{path}: not a valid safetensors file ({e.Message})", e);
        }
    }

    /// <summary>The header's JSON object, the stream left at the start of the data section.</summary>
    private static JsonDocument ReadHeader(Stream stream, string path)
    {
        var lengthBytes = ReadExactly(stream, 8);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > (ulong)MaxHeaderBytes || (long)headerLength > stream.Length - 8)
            throw new InvalidDataException($"{path}: not a safetensors file (header length {headerLength} for a file of {stream.Length} bytes)");
        string headerText;
        try
        {
            headerText = StrictUtf8.GetString(ReadExactly(stream, (int)headerLength));
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid UTF-8 text");
        }
        var header = JsonDocument.Parse(headerText);
        if (header.RootElement.ValueKind != JsonValueKind.Object)
        {
            header.Dispose();
            throw new InvalidDataException($"{path}: the safetensors header is not a JSON object");
        }
        return header;
    }

    private static void AddMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: the header's __metadata__ is not an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: metadata '{item.Name}' is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    /// <summary>
    /// Reads safetensors from <paramref name="stream"/> (seekable), naming <paramref name="path"/> in errors. A file is valid
    /// only if its header is a JSON object of tensors with a known dtype, a shape of non-negative dimensions and offsets
    /// whose data tile the data section exactly, once each (no gap, no overlap, nothing after), and names that appear once;
    /// "__metadata__", if present, must map strings to strings.
    /// </summary>
    private static SafeTensorsFile Read(Stream stream, string path)
    {
        var (metadata, entries, dataStart) = ReadLayout(stream, path);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        try
        {
            foreach (var (name, type, shape, begin, end) in entries.OrderBy(e => e.Begin))
            {
                var tensor = torch.empty(shape, type);
                tensors.Add(new KeyValuePair<string, Tensor>(name, tensor));
                if (end == begin) continue;
                stream.Position = dataStart + begin;
                stream.ReadExactly(tensor.bytes);   // straight into the tensor's memory
            }
        }
        catch
        {
            foreach (var (_, tensor) in tensors) tensor.Dispose();
            throw;
        }
        return new SafeTensorsFile(tensors, metadata);
    }

    /// <summary>The header read and checked (see <see cref="Read(Stream, string)"/>): the metadata, each tensor's place in the data section, and where that section starts.</summary>
    private static (Dictionary<string, string> Metadata, List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)> Entries, long DataStart) ReadLayout(Stream stream, string path)
    {
        using var header = ReadHeader(stream, path);
        long dataStart = stream.Position, dataLength = stream.Length - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (!names.Add(property.Name))
                throw new InvalidDataException($"{path}: the header names '{property.Name}' twice");
            if (property.Name == "__metadata__")
            {
                AddMetadata(property.Value, metadata, path);
                continue;
            }
            string dtype;
            long[] shape, offsets;
            try
            {
                var entry = property.Value;
                dtype = entry.GetProperty("dtype").GetString() ?? "";
                shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{path}: tensor '{property.Name}' needs a string 'dtype', an integer array 'shape' and two integer 'data_offsets' in the header ({e.Message})", e);
            }
            var type = ToScalarType(dtype, path, property.Name);
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                throw new InvalidDataException($"{path}: tensor '{property.Name}' has data offsets [{string.Join(", ", offsets)}] outside the {dataLength} bytes of data (truncated file?)");
            long expected;
            try
            {
                if (shape.Any(d => d < 0)) throw new OverflowException();
                expected = checked(shape.Aggregate(1L, (a, b) => a * b) * ElementSize(type));
            }
            catch (OverflowException)
            {
                throw new InvalidDataException($"{path}: tensor '{property.Name}' has the impossible shape [{string.Join(", ", shape)}]");
            }
            if (offsets[1] - offsets[0] != expected)
                throw new InvalidDataException($"{path}: tensor '{property.Name}' of shape [{string.Join(", ", shape)}] and dtype {dtype} needs {expected} bytes but its offsets give {offsets[1] - offsets[0]}");
            entries.Add((property.Name, type, shape, offsets[0], offsets[1]));
        }

        // The tensors must tile the data exactly: every byte belongs to one tensor, none to two.
        long covered = 0;
        foreach (var (name, _, _, begin, end) in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (begin != covered)
                throw new InvalidDataException(begin < covered
                    ? $"{path}: tensor '{name}' overlaps another tensor's data (bytes {begin}–{end} of the data section)"
                    : $"{path}: bytes {covered}–{begin} of the data section belong to no tensor (before '{name}')");
            covered = end;
        }
        if (covered != dataLength)
            throw new InvalidDataException($"{path}: {dataLength - covered} bytes after the last tensor belong to no tensor (a file with trailing or hidden data)");
        return (metadata, entries, dataStart);
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device; copied to the CPU one at a time while writing) with
    /// <paramref name="metadata"/>, atomically (temporary file, then rename). Names must be unique.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, tensor) in list)
        {
            if (header.ContainsKey(name)) throw new ArgumentException($"{path}: two tensors are named '{name}'; safetensors names must be unique");
            long size = tensor.numel() * ElementSize(tensor.dtype);
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = ToDType(tensor.dtype, name),
                ["shape"] = tensor.shape,
                ["data_offsets"] = new[] { offset, offset + size },
            };
            offset += size;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padding = (8 - json.Length % 8) % 8;   // align the data to 8 bytes, as the reference writer does
        AtomicFile.Write(path, stream =>
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
            stream.Write(length);
            stream.Write(json);
            for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
            foreach (var (_, tensor) in list)
            {
                if (tensor.numel() == 0) continue;
                using var scope = NewDisposeScope();   // detach, cpu and contiguous each return a handle
                stream.Write(tensor.detach().cpu().contiguous().bytes);
            }
        });
    }

    private static byte[] ReadExactly(Stream stream, int count)
    {
        var buffer = new byte[count];
        stream.ReadExactly(buffer);
        return buffer;
    }

    private static ScalarType ToScalarType(string dtype, string path, string name) => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new InvalidDataException($"{path}: tensor '{name}' has dtype '{dtype}', which is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"),
    };

    private static string ToDType(ScalarType type, string name) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"tensor '{name}' has dtype {type}, which safetensors cannot hold"),
    };

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
