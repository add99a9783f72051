using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Numerics;
using System.Text;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>
/// Reads the state dict of a <c>torch.save</c> zip file (PyTorch ≥ 1.6) without trusting it. The pickle is
/// decoded by Razorvine.Pickle into plain descriptions (storage references, tensor records, dictionaries) —
/// nothing is executed and no tensor is made while decoding — and only then is every tensor checked against
/// the storage it claims: a known dtype, a storage file in the archive whose length matches its element count,
/// non-negative sizes and strides, and a storage offset and extent inside the storage. Tensors sharing a
/// storage (views) read their own elements. Anything else is an <see cref="InvalidDataException"/> naming the
/// file and the tensor.
/// </summary>
internal static class TorchArchive
{
    /// <summary>The largest pickle read (a state dict's pickle is kilobytes to a few megabytes).</summary>
    private const long MaxPickleBytes = 256L << 20;

    /// <summary>The highest ratio deflate reaches (about 1032:1): a storage claiming more than that is a lie.</summary>
    private const long MaxDeflateRatio = 1100;

    /// <summary>
    /// The most elements, over the whole file, of views holding more elements than their storage (stride 0 or
    /// overlapping strides, as <c>expand</c> makes): a state dict's weights never need them, and a few bytes of
    /// storage would otherwise become gigabytes when the view is made contiguous.
    /// </summary>
    private const long MaxRepeatedElements = 1L << 24;

    /// <summary>Razorvine's constructors are process-wide: set ours immediately before each load, under one lock.</summary>
    private static readonly object Gate = new();

    /// <summary>The state-dict keys a torch.save file may nest its weights under (reference, mmsegmentation, others).</summary>
    private static readonly string[] NestedStateDicts = { "model", "state_dict", "model_state", "module" };

    /// <summary>
    /// Reads the state dict's tensors, in the order the pickle holds them; refuses, before inflating any, storages that
    /// claim more than <paramref name="maximumBytes"/> in all (when given), and, before making each, tensors that come to
    /// more than that once laid out (without a limit: four times their storages and 256 MB).
    /// </summary>
    public static List<KeyValuePair<string, Tensor>> ReadStateDict(Stream stream, string path, long? maximumBytes = null)
    {
        ZipArchive archive;
        IReadOnlyList<ZipArchiveEntry> listed;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            listed = archive.Entries;
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw Invalid(path, $"not a readable torch.save zip file (truncated or corrupt?): {e.Message}");
        }
        using (archive)
        {
            var entries = Entries(listed, path);
            var root = Unpickle(entries, path, out string prefix);
            var records = StateDict(root, path);
            double storageBytes = StorageBytes(records);
            if (maximumBytes is { } limit) CheckTotal(storageBytes, limit, path);
            return Materialise(records, entries, prefix, path, maximumBytes ?? LaidOutBudget(storageBytes));
        }
    }

    private static Dictionary<string, ZipArchiveEntry> Entries(IReadOnlyList<ZipArchiveEntry> listed, string path)
    {
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var entry in listed)
            if (!entries.TryAdd(entry.FullName, entry))
                throw Invalid(path, $"the archive holds '{entry.FullName}' twice");
        return entries;
    }

    private static object? Unpickle(Dictionary<string, ZipArchiveEntry> entries, string path, out string prefix)
    {
        var pickles = entries.Keys.Where(name => name.EndsWith("/data.pkl", StringComparison.Ordinal) && name.IndexOf('/') == name.Length - "/data.pkl".Length).ToList();
        if (pickles.Count != 1)
            throw Invalid(path, pickles.Count == 0
                ? "a zip file without 'NAME/data.pkl': not a torch.save file"
                : $"a zip file with {pickles.Count} pickles ({string.Join(", ", pickles.Take(3))}): not a torch.save file");
        prefix = pickles[0].Substring(0, pickles[0].Length - "data.pkl".Length);
        if (entries.TryGetValue(prefix + "byteorder", out var byteOrder))
        {
            var order = Encoding.ASCII.GetString(ReadEntry(byteOrder, 16, path)).Trim();
            if (order != "little")
                throw Invalid(path, $"tensors stored in '{order}' byte order; only little-endian files can be read");
        }

        var pickle = ReadEntry(entries[pickles[0]], MaxPickleBytes, path);
        try
        {
            lock (Gate)
            {
                Records.Register();
                using var unpickler = new StorageUnpickler();
                return unpickler.loads(pickle);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Invalid(path, $"its pickle (data.pkl) cannot be decoded: {e.Message}");
        }
    }

    /// <summary>The tensors of the state dict: at the top level or under one of <see cref="NestedStateDicts"/>.</summary>
    private static List<KeyValuePair<string, TensorRecord>> StateDict(object? root, string path)
    {
        if (root is not Hashtable top)
            throw Invalid(path, $"its pickled object is {Describe(root)}, not a state dict (a dictionary of tensors)");
        var candidates = NestedStateDicts.Select(key => top[key]).OfType<Hashtable>().Append(top);
        var stateDict = candidates.FirstOrDefault(d => d.Values.OfType<TensorRecord>().Any());
        if (stateDict is null)
        {
            var keys = string.Join(", ", top.Keys.Cast<object>().Select(k => k?.ToString() ?? "None").Take(10));
            throw Invalid(path, "a torch.save file without a state dict: no tensors at the top level or under " +
                                $"{string.Join(", ", NestedStateDicts.Select(k => $"'{k}'"))} (top-level keys: {keys})");
        }
        return stateDict.Cast<DictionaryEntry>()
            .Where(e => e.Key is string && e.Value is TensorRecord)
            .Select(e => new KeyValuePair<string, TensorRecord>((string)e.Key, (TensorRecord)e.Value!))
            .OrderBy(e => e.Value.Sequence)
            .ToList();
    }

    /// <summary>The bytes the state dict's storages claim in all (each storage once, however many tensors view it).</summary>
    private static double StorageBytes(List<KeyValuePair<string, TensorRecord>> records) =>
        records.Select(r => r.Value.Storage).DistinctBy(s => s.Key).Sum(s => (double)Math.Max(0, s.Elements) * ElementSize(s.Type));

    /// <summary>
    /// Without a model to size it by, the most bytes the tensors may come to once laid out: four times their storages
    /// and 256 MB (tensors sharing a storage, as tied weights do, each get a copy of their own).
    /// </summary>
    private static long LaidOutBudget(double storageBytes) => (long)Math.Min(long.MaxValue / 2, 4 * storageBytes + (256L << 20));

    /// <summary>Refuses a state dict whose storages claim more than <paramref name="limit"/> bytes in all.</summary>
    private static void CheckTotal(double total, long limit, string path)
    {
        if (total > limit)
            throw Invalid(path, $"its state dict's storages claim {total:N0} bytes, more than the {limit:N0} a checkpoint of this model can need: " +
                                "the weights of a much larger model, or a damaged or hostile file");
    }

    /// <summary>
    /// The tensors, each laid out on its own. Refuses, before making them, views that repeat their storage's elements beyond
    /// <see cref="MaxRepeatedElements"/> in all, and views that together come to more than <paramref name="budget"/> bytes
    /// (thousands of transposed views of one storage would each be copied in full).
    /// </summary>
    private static List<KeyValuePair<string, Tensor>> Materialise(List<KeyValuePair<string, TensorRecord>> records,
        Dictionary<string, ZipArchiveEntry> entries, string prefix, string path, long budget)
    {
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var result = new List<KeyValuePair<string, Tensor>>();
        using var scope = NewDisposeScope();   // storages and failed reads die here; returned tensors are detached
        long repeated = 0;
        double laidOut = 0;
        foreach (var (name, record) in records)
        {
            var storage = record.Storage;
            if (!storages.TryGetValue(storage.Key, out var data))
            {
                data = ReadStorage(storage, entries, prefix, path, name);
                storages.Add(storage.Key, data);
            }
            else if (data.dtype != storage.Type)
                throw Invalid(path, $"tensor '{name}' reads storage '{storage.Key}' as {storage.Type}, another tensor as {data.dtype}");
            long elements = CheckView(record, data.shape[0], path, name);
            if (elements > data.shape[0])
            {
                if (elements > MaxRepeatedElements - repeated)
                    throw Invalid(path, $"tensor '{name}' repeats its storage's elements ({Layout(record)}: {elements} elements from a storage of {data.shape[0]}), " +
                                        $"and such expanded views come to more than {MaxRepeatedElements} elements in this file; save the tensors made contiguous (tensor.contiguous() or clone())");
                repeated += elements;
            }
            if ((laidOut += (double)elements * ElementSize(storage.Type)) > budget)
                throw Invalid(path, $"its tensors come to more than {budget:N0} bytes once laid out (at tensor '{name}', {Layout(record)}), " +
                                    "more than a checkpoint of this model can need: views of shared storages each copied out, a damaged or hostile file");
            var tensor = data.as_strided(record.Shape, record.Stride, record.Offset).contiguous();
            result.Add(new KeyValuePair<string, Tensor>(name, tensor));
        }
        foreach (var (_, tensor) in result) tensor.DetachFromDisposeScope();
        return result;
    }

    private static Tensor ReadStorage(StorageReference storage, Dictionary<string, ZipArchiveEntry> entries, string prefix, string path, string tensor)
    {
        if (storage.Key.Length == 0 || storage.Key.Contains('/') || storage.Key.Contains('\\') || storage.Key.Contains(".."))
            throw Invalid(path, $"tensor '{tensor}' names storage '{Escape(storage.Key)}', which is not a storage name");
        if (!entries.TryGetValue(prefix + "data/" + storage.Key, out var entry))
            throw Invalid(path, $"tensor '{tensor}' reads storage '{storage.Key}', which the archive does not hold ({prefix}data/{storage.Key})");
        long elementSize = ElementSize(storage.Type);
        if (storage.Elements < 0 || storage.Elements > long.MaxValue / elementSize || entry.Length != storage.Elements * elementSize)
            throw Invalid(path, $"storage '{storage.Key}' holds {entry.Length} bytes, but the pickle says {storage.Elements} elements of {storage.Type} ({elementSize} bytes each)");
        CheckClaimedLength(entry, path);
        Tensor data;
        try
        {
            data = empty(storage.Elements, storage.Type);
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or OutOfMemoryException)
        {
            throw Invalid(path, $"storage '{storage.Key}' claims {entry.Length} bytes, which cannot be allocated: {e.Message.Split('\n')[0]}");
        }
        if (entry.Length == 0) return data;
        try
        {
            using var stream = entry.Open();
            stream.ReadExactly(data.bytes);
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw Invalid(path, $"storage '{storage.Key}' is truncated or corrupt: {e.Message}");
        }
        return data;
    }

    /// <summary>Refuses a view that reaches outside its storage (or whose sizes overflow); returns its element count.</summary>
    private static long CheckView(TensorRecord record, long storageElements, string path, string name)
    {
        var (offset, shape, stride) = (record.Offset, record.Shape, record.Stride);
        string claimed = Layout(record);
        if (shape.Length != stride.Length || offset < 0 || shape.Any(s => s < 0) || stride.Any(s => s < 0))
            throw Invalid(path, $"tensor '{name}' has an impossible layout ({claimed}): sizes, strides and offset must be non-negative, one stride per dimension");
        try
        {
            long elements = 1, last = offset;
            for (int i = 0; i < shape.Length; i++)
            {
                elements = checked(elements * shape[i]);
                if (shape[i] > 0) last = checked(last + (shape[i] - 1) * stride[i]);
            }
            bool inside = elements == 0 ? offset <= storageElements : last < storageElements;
            if (!inside)
                throw Invalid(path, $"tensor '{name}' ({claimed}) reaches element {last} of a storage of {storageElements}");
            return elements;
        }
        catch (OverflowException)
        {
            throw Invalid(path, $"tensor '{name}' has sizes or strides whose product overflows ({claimed})");
        }
    }

    private static string Layout(TensorRecord record) =>
        $"offset {record.Offset}, size ({string.Join(", ", record.Shape)}), stride ({string.Join(", ", record.Stride)})";

    private static void CheckClaimedLength(ZipArchiveEntry entry, string path)
    {
        if (entry.Length > entry.CompressedLength && entry.Length / MaxDeflateRatio > entry.CompressedLength)
            throw Invalid(path, $"'{entry.FullName}' claims {entry.Length} bytes from {entry.CompressedLength} compressed: a damaged or hostile archive");
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit, string path)
    {
        if (entry.Length > limit)
            throw Invalid(path, $"'{entry.FullName}' is {entry.Length} bytes; at most {limit} are read");
        CheckClaimedLength(entry, path);
        try
        {
            using var stream = entry.Open();
            var bytes = new byte[entry.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw Invalid(path, $"'{entry.FullName}' is truncated or corrupt: {e.Message}");
        }
    }

    /// <summary>What the zip classes throw on a damaged archive (a bad header, method, length or checksum).</summary>
    private static bool IsZipError(Exception e) => e is IOException or InvalidDataException or NotSupportedException or ArgumentException;

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.ComplexFloat64 => 16,
        _ => 1,
    };

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string => "a string",
        ArrayList => "a list",
        object[] => "a tuple",
        TensorRecord => "a single tensor",
        ClassDict c => $"an object of class {c.ClassName}",
        _ => $"a {value.GetType().Name}",
    };

    private static string Escape(string text) =>
        new(text.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static InvalidDataException Invalid(string path, string message) => new($"{path}: {message}");

    /// <summary>
    /// The ('storage', type, key, location, elements) persistent ids of torch.save become
    /// <see cref="StorageReference"/>s; anything else is refused.
    /// </summary>
    private sealed class StorageUnpickler : Unpickler
    {
        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] { Length: >= 5 } id || id[0] is not string kind || kind != "storage")
                throw new InvalidDataException("a persistent id that is not a torch storage ('storage', type, key, location, size)");
            if (id[1] is not ClassDictConstructor { module: "torch" } type)
                throw new InvalidDataException("a storage without a torch storage type");
            if (id[2] is not string key)
                throw new InvalidDataException("a storage whose key is not a string");
            return new StorageReference(key, StorageType(type.name), Records.Integer(id[4], "storage size"));
        }

        private static ScalarType StorageType(string name) => name switch
        {
            "DoubleStorage" => ScalarType.Float64,
            "FloatStorage" => ScalarType.Float32,
            "HalfStorage" => ScalarType.Float16,
            "BFloat16Storage" => ScalarType.BFloat16,
            "LongStorage" => ScalarType.Int64,
            "IntStorage" => ScalarType.Int32,
            "ShortStorage" => ScalarType.Int16,
            "CharStorage" => ScalarType.Int8,
            "ByteStorage" => ScalarType.Byte,
            "BoolStorage" => ScalarType.Bool,
            "ComplexFloatStorage" => ScalarType.ComplexFloat32,
            "ComplexDoubleStorage" => ScalarType.ComplexFloat64,
            _ => throw new InvalidDataException($"storage type torch.{name} is not supported"),
        };
    }

    /// <summary>A storage as the pickle names it: its archive key, element type and element count.</summary>
    private sealed record StorageReference(string Key, ScalarType Type, long Elements);

    /// <summary>A tensor as the pickle describes it (nothing read yet); <paramref name="Sequence"/> is its place in the pickle.</summary>
    private sealed record TensorRecord(StorageReference Storage, long Offset, long[] Shape, long[] Stride, long Sequence);

    /// <summary>An OrderedDict; its pickled attributes (a state dict's <c>_metadata</c>) are not weights and are ignored.</summary>
    private sealed class PickledDictionary : Hashtable
    {
        public void __setstate__(Hashtable state) { }
    }

    /// <summary>The pickle's constructors: each returns a plain record; none makes a tensor or runs anything.</summary>
    private static class Records
    {
        /// <summary>Counts the tensors made by one load (Python dicts keep insertion order; Razorvine's Hashtable does not).</summary>
        private static long made;

        public static void Register()
        {
            made = 0;
            var tensor = new Constructor(args => Tensor(args, "_rebuild_tensor"));
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor", tensor);
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", tensor);
            var parameter = new Constructor(args => args.Length >= 1 && args[0] is TensorRecord record
                ? record
                : throw new InvalidDataException("a parameter without tensor data"));
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", parameter);
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter_with_state", parameter);
            Unpickler.registerConstructor("collections", "OrderedDict", new Constructor(_ => new PickledDictionary()));
        }

        private static TensorRecord Tensor(object[] args, string function)
        {
            if (args.Length < 4 || args[0] is not StorageReference storage || args[2] is not object[] shape || args[3] is not object[] stride)
                throw new InvalidDataException($"a {function} call without (storage, offset, size, stride)");
            return new TensorRecord(storage, Integer(args[1], "storage offset"),
                shape.Select(s => Integer(s, "size")).ToArray(), stride.Select(s => Integer(s, "stride")).ToArray(), made++);
        }

        public static long Integer(object value, string what) => value switch
        {
            int i => i,
            long l => l,
            BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
            BigInteger => throw new InvalidDataException($"a {what} too large for 64 bits"),
            _ => throw new InvalidDataException($"a {what} that is not an integer ({value?.GetType().Name ?? "None"})"),
        };

        private sealed class Constructor(Func<object[], object> make) : IObjectConstructor
        {
            public object construct(object[] args) => make(args);
        }
    }
}
