using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Segmenter.Runtime.Checkpoints;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Tests;

/// <summary>
/// The safetensors reader against damaged and lying files: seeded mutations of a valid file (bytes flipped, cut,
/// appended; header fields edited to overlap, leave gaps, repeat names, overflow shapes, hide data). Every file is
/// either read with its tensors tiling the data exactly, or refused with an <see cref="InvalidDataException"/> —
/// never another exception, never a tensor over another's bytes.
/// </summary>
public sealed class SafeTensorsFuzzTests
{
    private static (byte[] Bytes, string Header, byte[] Data) ValidFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            using var a = arange(Scalars.Of(12L), ScalarType.Float32).reshape(3, 4);
            using var b = arange(Scalars.Of(5L), ScalarType.Int64);
            using var c = zeros(0, 3);
            SafeTensors.Write(path, new[] { KeyValuePair.Create("a", a), KeyValuePair.Create("b", b), KeyValuePair.Create("c", c) },
                new Dictionary<string, string> { ["format"] = "segmenter-dsl/2" });
            var bytes = File.ReadAllBytes(path);
            int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            return (bytes, Encoding.UTF8.GetString(bytes, 8, length), bytes[(8 + length)..]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Assemble(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    /// <summary>Reads <paramref name="bytes"/>; null if refused as invalid, else the total bytes of the tensors read.</summary>
    private static long? TryRead(byte[] bytes, long dataLength)
    {
        try
        {
            var file = SafeTensors.ReadFrom(new MemoryStream(bytes), "fuzz.safetensors");
            long total = file.Tensors.Sum(t => t.Value.numel() * t.Value.element_size());
            foreach (var (_, tensor) in file.Tensors) tensor.Dispose();
            return total;
        }
        catch (InvalidDataException e)
        {
            Assert.Contains("fuzz.safetensors", e.Message);
            return null;
        }
    }

    [Fact]
    public void Damaged_files_are_read_whole_or_refused()
    {
        var (valid, header, data) = ValidFile();
        Assert.Equal(data.Length, TryRead(valid, data.Length));
        var random = new Random(1234);
        int refused = 0;
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])valid.Clone();
            switch (i % 3)
            {
                case 0:   // flip bytes anywhere
                    for (int k = random.Next(1, 5); k > 0; k--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                    break;
                case 1:   // cut
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                default:  // extra bytes at the end
                    bytes = bytes.Concat(Enumerable.Range(0, random.Next(1, 9)).Select(_ => (byte)random.Next(256))).ToArray();
                    break;
            }
            int headerLength = bytes.Length >= 8 ? (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt64LittleEndian(bytes)) : 0;
            long dataLength = bytes.Length - 8L - headerLength;
            var total = TryRead(bytes, dataLength);
            if (total is null) refused++;
            else Assert.Equal(dataLength, total);   // whatever was accepted tiles its data exactly
        }
        Assert.True(refused > 1000, $"only {refused} of 3000 damaged files were refused");
    }

    [Theory]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}", "\"a\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[8,56]}", "belong to no tensor")]
    [InlineData("\"b\":{\"dtype\":\"I64\",\"shape\":[5],\"data_offsets\":[48,88]}", "\"b\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}", "overlaps")]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"shape\":[3,4]", "\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296]", "impossible shape")]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"shape\":[3,4]", "\"a\":{\"dtype\":\"F32\",\"shape\":[-3,-4]", "impossible shape")]
    [InlineData("\"a\":{\"dtype\":\"F32\"", "\"a\":{\"dtype\":[\"F32\"]", "needs a string 'dtype'")]
    [InlineData("\"__metadata__\":{\"format\":\"segmenter-dsl/2\"}", "\"__metadata__\":null", "__metadata__")]
    [InlineData("\"__metadata__\":{\"format\":\"segmenter-dsl/2\"}", "\"__metadata__\":{\"format\":2}", "is not a string")]
    public void Lying_headers_are_refused_saying_what_is_wrong(string original, string replacement, string expected)
    {
        var (_, header, data) = ValidFile();
        Assert.Contains(original, header);
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadFrom(new MemoryStream(Assemble(header.Replace(original, replacement), data)), "lying.safetensors"));
        Assert.Contains("lying.safetensors", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_name_given_twice_and_trailing_data_are_refused()
    {
        var (_, header, data) = ValidFile();
        var a = "\"a\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}";
        var twice = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadFrom(new MemoryStream(Assemble(header.Replace(a, a + "," + a), data)), "twice.safetensors"));
        Assert.Contains("names 'a' twice", twice.Message);
        var trailing = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadFrom(new MemoryStream(Assemble(header, data.Concat(new byte[16]).ToArray())), "trailing.safetensors"));
        Assert.Contains("after the last tensor", trailing.Message);
    }
}
