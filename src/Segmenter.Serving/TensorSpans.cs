using System;
using System.Buffers;
using Segmenter.Runtime;
using static TorchSharp.torch;

namespace Segmenter.Serving;

/// <summary>Spans and memory over contiguous CPU tensors, for reading requests into them and writing answers from them without copies.</summary>
internal static class TensorSpans
{
    /// <summary>The tensor's elements; the tensor must be contiguous, on the CPU, of <typeparamref name="T"/>'s size.</summary>
    public static unsafe Span<T> Of<T>(Tensor tensor) where T : unmanaged
    {
        if (!tensor.is_contiguous()) throw new ArgumentException($"expected a contiguous tensor, got a strided view of shape [{string.Join(", ", tensor.shape)}]");
        if (tensor.element_size() != sizeof(T)) throw new ArgumentException($"expected a tensor of {typeof(T).Name}, got {tensor.dtype}");
        long count = tensor.numel();
        if (count > int.MaxValue) throw new ArgumentException($"a tensor of {count} elements is too large for one span");
        return count == 0 ? default : new Span<T>((void*)TensorMemory.Address(tensor), (int)count);
    }

    /// <summary>The bytes of a contiguous CPU tensor as <see cref="Memory{T}"/> (which may cross an await); the tensor must outlive it.</summary>
    public static unsafe Memory<byte> Bytes(Tensor tensor)
    {
        if (!tensor.is_contiguous()) throw new ArgumentException("expected a contiguous tensor");
        long length = tensor.numel() * tensor.element_size();
        if (length > int.MaxValue) throw new ArgumentException($"a tensor of {length} bytes is too large for one buffer");
        return length == 0 ? Memory<byte>.Empty : new Unmanaged((byte*)TensorMemory.Address(tensor), (int)length).Memory;
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
