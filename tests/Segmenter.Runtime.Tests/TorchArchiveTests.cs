using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Tests;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>
/// The torch.save reader against files that lie: archives written here in torch.save's layout (a pickle of
/// <c>_rebuild_tensor_v2</c> calls over persistent storages) with offsets, strides, sizes, storage lengths and
/// roots that do not fit, and seeded mutations of a valid archive. Every file is either read, each tensor inside
/// its storage, or refused with an <see cref="InvalidDataException"/> naming it — never another exception or a
/// native crash.
/// </summary>
public sealed class TorchArchiveTests
{
    private const string Path = "lying.pth";

    /// <summary>One tensor of a pickled state dict: its storage key, element count and view.</summary>
    private sealed record View(string Name, string Storage, long Elements, long Offset, long[] Shape, long[] Stride, string Type = "FloatStorage");

    /// <summary>Writes the pickle torch.save writes for an OrderedDict of <paramref name="views"/> (protocol 2).</summary>
    private static byte[] Pickle(IEnumerable<View> views, Action<PickleWriter>? root = null)
    {
        var w = new PickleWriter();
        w.Op(0x80).Op(2);
        if (root is not null)
            root(w);
        else
        {
            w.Global("collections", "OrderedDict").Op(')').Op('R').Op('(');
            foreach (var v in views)
            {
                w.Text(v.Name).Global("torch._utils", "_rebuild_tensor_v2").Op('(');
                w.Op('(').Text("storage").Global("torch", v.Type).Text(v.Storage).Text("cpu").Int(v.Elements).Op('t').Op('Q');
                w.Int(v.Offset).Tuple(v.Shape).Tuple(v.Stride).Op(0x89).Op('}').Op('t').Op('R');
            }
            w.Op('u');
        }
        w.Op('.');
        return w.Bytes();
    }

    /// <summary>A zip in torch.save's layout: archive/data.pkl, archive/data/KEY (stored, uncompressed).</summary>
    private static byte[] Archive(byte[] pickle, IReadOnlyDictionary<string, byte[]> storages)
    {
        var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] bytes)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                stream.Write(bytes);
            }
            Add("archive/data.pkl", pickle);
            Add("archive/byteorder", Encoding.ASCII.GetBytes("little"));
            foreach (var (key, bytes) in storages) Add("archive/data/" + key, bytes);
            Add("archive/version", Encoding.ASCII.GetBytes("3\n"));
        }
        return memory.ToArray();
    }

    private static byte[] Floats(int count) => Enumerable.Range(0, count).SelectMany(i => BitConverter.GetBytes((float)i)).ToArray();

    private static List<KeyValuePair<string, Tensor>> Read(byte[] archive) => TorchArchive.ReadStateDict(new MemoryStream(archive), Path);

    private static string Refused(byte[] archive)
    {
        var error = Assert.Throws<InvalidDataException>(() => Read(archive));
        Assert.StartsWith(Path + ": ", error.Message);
        return error.Message;
    }

    [Fact]
    public void Views_of_one_storage_read_their_own_elements_in_file_order()
    {
        var storage = new Dictionary<string, byte[]> { ["0"] = Floats(10) };
        var tensors = Read(Archive(Pickle(new[]
        {
            new View("z.window", "0", 10, 2, new[] { 2L, 2 }, new[] { 2L, 1 }),
            new View("a.every_third", "0", 10, 0, new[] { 3L }, new[] { 3L }),
            new View("m.whole", "0", 10, 0, new[] { 10L }, new[] { 1L }),
            new View("b.empty", "0", 10, 10, new[] { 0L, 4 }, new[] { 4L, 1 }),
        }), storage));
        Assert.Equal(new[] { "z.window", "a.every_third", "m.whole", "b.empty" }, tensors.Select(t => t.Key));
        Assert.Equal(new[] { 2f, 3, 4, 5 }, tensors[0].Value.data<float>().ToArray());
        Assert.Equal(new long[] { 2, 2 }, tensors[0].Value.shape);
        Assert.Equal(new[] { 0f, 3, 6 }, tensors[1].Value.data<float>().ToArray());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), tensors[2].Value.data<float>().ToArray());
        Assert.Equal(new long[] { 0, 4 }, tensors[3].Value.shape);
    }

    [Theory]
    [InlineData(9L, new[] { 2L }, new[] { 1L }, "reaches element 10 of a storage of 10")]
    [InlineData(0L, new[] { 4L }, new[] { 5L }, "reaches element 15 of a storage of 10")]
    [InlineData(11L, new[] { 0L }, new[] { 1L }, "reaches element 11 of a storage of 10")]
    [InlineData(-1L, new[] { 2L }, new[] { 1L }, "impossible layout")]
    [InlineData(0L, new[] { 2L }, new[] { -1L }, "impossible layout")]
    [InlineData(0L, new[] { -2L }, new[] { 1L }, "impossible layout")]
    [InlineData(0L, new[] { 2L, 2 }, new[] { 1L }, "impossible layout")]
    [InlineData(0L, new[] { 1L << 40, 1L << 40 }, new[] { 1L, 1 }, "overflows")]
    [InlineData(0L, new[] { 3L }, new[] { 1L << 62 }, "overflows")]
    public void Views_outside_their_storage_are_refused(long offset, long[] shape, long[] stride, string expected)
    {
        var message = Refused(Archive(Pickle(new[] { new View("w", "0", 10, offset, shape, stride) }), new Dictionary<string, byte[]> { ["0"] = Floats(10) }));
        Assert.Contains("tensor 'w'", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Expanded_views_are_read_small_and_refused_large_before_they_are_made()
    {
        var storage = new Dictionary<string, byte[]> { ["0"] = Floats(10) };
        var small = Read(Archive(Pickle(new[] { new View("rows", "0", 10, 0, new[] { 4L, 10 }, new[] { 0L, 1 }) }), storage));
        Assert.Equal(new long[] { 4, 10 }, small[0].Value.shape);
        Assert.Equal(9f, small[0].Value[3, 9].item<float>());
        // 2^25 elements from a storage of 10 (128 MB of float32 from 40 bytes): refused from the layout alone.
        var message = Refused(Archive(Pickle(new[] { new View("w", "0", 10, 0, new[] { 1L << 13, 1L << 12 }, new[] { 0L, 0 }) }), storage));
        Assert.Contains("tensor 'w' repeats its storage's elements (offset 0, size (8192, 4096), stride (0, 0): 33554432 elements from a storage of 10)", message);
        // The limit is over the whole file: many expanded views add up.
        var many = Enumerable.Range(0, 5).Select(i => new View($"w{i}", "0", 10, 0, new[] { 1L << 22 }, new[] { 0L })).ToArray();
        Assert.Contains("tensor 'w4' repeats", Refused(Archive(Pickle(many), storage)));
        // A sum that would overflow is refused too, not wrapped round.
        var huge = new[] { new View("a", "0", 10, 0, new[] { 11L }, new[] { 0L }), new View("b", "0", 10, 0, new[] { long.MaxValue }, new[] { 0L }) };
        Assert.Contains("tensor 'b' repeats its storage's elements", Refused(Archive(Pickle(huge), storage)));
    }

    [Fact]
    public void A_state_dict_claiming_more_than_the_model_can_need_is_refused_before_it_is_inflated()
    {
        var archive = Archive(Pickle(new[] { new View("w", "0", 10, 0, new[] { 10L }, new[] { 1L }), new View("v", "0", 10, 0, new[] { 5L }, new[] { 1L }) }),
            new Dictionary<string, byte[]> { ["0"] = Floats(10) });
        Assert.Equal(2, TorchArchive.ReadStateDict(new MemoryStream(archive), Path, maximumBytes: 60).Count);   // one storage, counted once; two tensors of 40 and 20 bytes
        var error = Assert.Throws<InvalidDataException>(() => TorchArchive.ReadStateDict(new MemoryStream(archive), Path, maximumBytes: 39));
        Assert.Contains("its state dict's storages claim 40 bytes, more than the 39 a checkpoint of this model can need", error.Message);
        // Views that fit their storage but are each laid out anew (transposed, or many of one storage) count as what they become.
        var laidOut = Assert.Throws<InvalidDataException>(() => TorchArchive.ReadStateDict(new MemoryStream(archive), Path, maximumBytes: 59));
        Assert.Contains("its tensors come to more than 59 bytes once laid out (at tensor 'v', offset 0, size (5), stride (1))", laidOut.Message);
        var transposed = Enumerable.Range(0, 8).Select(i => new View($"t{i}", "0", 10, 0, new[] { 5L, 2 }, new[] { 1L, 5 })).ToArray();
        var many = Archive(Pickle(transposed), new Dictionary<string, byte[]> { ["0"] = Floats(10) });
        Assert.Contains("once laid out (at tensor 't2'", Assert.Throws<InvalidDataException>(() => TorchArchive.ReadStateDict(new MemoryStream(many), Path, maximumBytes: 100)).Message);
    }

    [Fact]
    public void Storages_that_do_not_match_their_description_are_refused()
    {
        var one = new[] { new View("w", "0", 10, 0, new[] { 10L }, new[] { 1L }) };
        Assert.Contains("storage '0' holds 36 bytes, but the pickle says 10 elements", Refused(Archive(Pickle(one), new Dictionary<string, byte[]> { ["0"] = Floats(9) })));
        Assert.Contains("which the archive does not hold", Refused(Archive(Pickle(one), new Dictionary<string, byte[]> { ["1"] = Floats(10) })));
        var escape = new[] { new View("w", "../0", 10, 0, new[] { 10L }, new[] { 1L }) };
        Assert.Contains("which is not a storage name", Refused(Archive(Pickle(escape), new Dictionary<string, byte[]> { ["0"] = Floats(10) })));
        var unknown = new[] { new View("w", "0", 10, 0, new[] { 10L }, new[] { 1L }, "QInt8Storage") };
        Assert.Contains("storage type torch.QInt8Storage is not supported", Refused(Archive(Pickle(unknown), new Dictionary<string, byte[]> { ["0"] = Floats(10) })));
        var twoTypes = new[] { one[0], new View("v", "0", 40, 0, new[] { 40L }, new[] { 1L }, "ByteStorage") };
        Assert.Contains("reads storage '0' as Byte, another tensor as Float32", Refused(Archive(Pickle(twoTypes), new Dictionary<string, byte[]> { ["0"] = Floats(10) })));
    }

    [Theory]
    [InlineData("none", "its pickled object is None, not a state dict")]
    [InlineData("list", "its pickled object is a list, not a state dict")]
    [InlineData("text", "its pickled object is a string, not a state dict")]
    [InlineData("empty", "without a state dict: no tensors")]
    [InlineData("code", "cannot be decoded")]
    public void Roots_that_are_not_state_dicts_are_refused(string kind, string expected)
    {
        var pickle = Pickle(Array.Empty<View>(), w =>
        {
            switch (kind)
            {
                case "none": w.Op('N'); break;
                case "list": w.Op(']'); break;
                case "text": w.Text("weights"); break;
                case "empty": w.Op('}'); break;
                default: w.Global("os", "system").Text("echo hi").Op(0x85).Op('R').Op('R'); break;   // a call on a call's result: nothing runs
            }
        });
        Assert.Contains(expected, Refused(Archive(pickle, new Dictionary<string, byte[]>())));
    }

    [Fact]
    public void Damaged_archives_are_read_whole_or_refused()
    {
        var views = new[]
        {
            new View("a", "0", 12, 0, new[] { 3L, 4 }, new[] { 4L, 1 }),
            new View("b", "0", 12, 2, new[] { 2L, 2 }, new[] { 1L, 4 }),
            new View("c", "1", 5, 0, new[] { 5L }, new[] { 1L }, "LongStorage"),
        };
        var storages = new Dictionary<string, byte[]> { ["0"] = Floats(12), ["1"] = new byte[40] };
        var pickle = Pickle(views);
        var valid = Archive(pickle, storages);
        Assert.Equal(3, Read(valid).Count);

        var random = new Random(4321);
        int refused = 0, runs = 3000;
        for (int i = 0; i < runs; i++)
        {
            byte[] bytes;
            switch (i % 3)
            {
                case 0:   // the pickle's bytes changed (offsets, sizes, strides, opcodes, names), the archive intact
                    var changed = (byte[])pickle.Clone();
                    for (int k = random.Next(1, 4); k > 0; k--) changed[random.Next(changed.Length)] = (byte)random.Next(256);
                    bytes = Archive(changed, storages);
                    break;
                case 1:   // bytes flipped anywhere in the file
                    bytes = (byte[])valid.Clone();
                    for (int k = random.Next(1, 5); k > 0; k--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                    break;
                default:  // cut
                    bytes = valid[..random.Next(valid.Length)];
                    break;
            }
            try
            {
                foreach (var (name, tensor) in Read(bytes))
                {
                    Assert.True(tensor.is_contiguous(), name);
                    Assert.True(tensor.numel() <= 12, $"{name} has {tensor.numel()} elements, more than its storage");
                    tensor.Dispose();
                }
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith(Path + ": ", e.Message);
                refused++;
            }
        }
        Assert.True(refused > runs / 3, $"only {refused} of {runs} damaged archives were refused");
    }

    [Fact]
    public void The_reference_checkpoint_reads_as_before()
    {
        // The authors' training checkpoint: the state dict under 'model', in the order of their listing.
        using var file = CheckpointFile.Read(TestPaths.Fixture("micro-linear", "checkpoint.pth"));
        var listing = ReferenceListings.Micro("micro-linear");
        Assert.Equal(listing, file.Tensors.Select(t => $"{t.Key} [{string.Join(", ", t.Value.shape)}]"));
    }

    /// <summary>The few pickle opcodes torch.save's state dicts use.</summary>
    private sealed class PickleWriter
    {
        private readonly MemoryStream stream = new();

        public PickleWriter Op(int code)
        {
            stream.WriteByte((byte)code);
            return this;
        }

        public PickleWriter Global(string module, string name)
        {
            Op('c');
            stream.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
            return this;
        }

        public PickleWriter Text(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            Op('X');
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            stream.Write(length);
            stream.Write(bytes);
            return this;
        }

        public PickleWriter Int(long value)
        {
            Op(0x8a).Op(8);   // LONG1 with 8 bytes: any 64-bit value
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            stream.Write(bytes);
            return this;
        }

        public PickleWriter Tuple(long[] values)
        {
            Op('(');
            foreach (var v in values) Int(v);
            return Op('t');
        }

        public byte[] Bytes() => stream.ToArray();
    }
}
