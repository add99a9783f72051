using System;
using System.Buffers;
using static TorchSharp.torch;

namespace Segmenter.Serving;

/// <summary>Spans over the memory of contiguous CPU tensors, for reading requests into them and writing answers from them without copies.</summary>
internal static class TensorMemory
{
    public static unsafe Span<T> Span<T>(Tensor tensor) where T : unmanaged
    {
        if (!tensor.is_contiguous() || tensor.device.type != TorchSharp.DeviceType.CPU || tensor.element_size() != sizeof(T))
            throw new ArgumentException($"expected a contiguous CPU tensor of {typeof(T).Name}, got {tensor.dtype} on {tensor.device}");
        long count = tensor.numel();
        if (count > int.MaxValue) throw new ArgumentException($"a tensor of {count} elements is too large for one span");
        if (count == 0) return default;
        var start = Pointer(tensor);
        return new Span<T>(start, (int)count);
    }

    /// <summary>The bytes of a contiguous CPU tensor as <see cref="Memory{T}"/> (which may cross an await); the tensor must outlive it.</summary>
    public static unsafe Memory<byte> Bytes(Tensor tensor)
    {
        if (!tensor.is_contiguous() || tensor.device.type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"expected a contiguous CPU tensor, got one on {tensor.device}");
        long length = tensor.numel() * tensor.element_size();
        if (length > int.MaxValue) throw new ArgumentException($"a tensor of {length} bytes is too large for one buffer");
        if (length == 0) return Memory<byte>.Empty;
        var start = Pointer(tensor);
        return new Unmanaged(start, (int)length).Memory;
    }

    /// <summary>The address of the tensor's first element.</summary>
    private static unsafe byte* Pointer(Tensor tensor)
    {
        var storage = tensor.dtype switch
        {
            ScalarType.Float32 => Address(tensor.storage<float>()),
            ScalarType.Byte => Address(tensor.storage<byte>()),
            ScalarType.Int64 => Address(tensor.storage<long>()),
            _ => throw new ArgumentException($"tensors of {tensor.dtype} are not served"),
        };
        return (byte*)storage + tensor.storage_offset() * tensor.element_size();
    }

    /// <summary>
    /// The storage's address. The storage object holds a tensor handle of its own: disposed here, or the memory it refers to
    /// stays taken until the garbage collector finalises it (a server would grow by a request's tensors at a time).
    /// </summary>
    private static IntPtr Address<T>(Storage<T> storage) where T : unmanaged
    {
        using (storage) return storage.data_ptr();
    }

    private sealed unsafe class Unmanaged : MemoryManager<byte>
    {
        private readonly byte* start;
        private readonly int length;

        public Unmanaged(byte* start, int length)
        {
            this.start = start;
            this.length = length;
        }

        public override Span<byte> GetSpan() => new(start, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(start + elementIndex);

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
