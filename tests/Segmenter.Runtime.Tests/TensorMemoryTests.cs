using System;
using System.Runtime.InteropServices;
using Segmenter.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Tests;

/// <summary>Nothing else runs beside these: they count the process's live tensor handles.</summary>
[CollectionDefinition(nameof(TensorMemoryTests), DisableParallelization = true)]
public sealed class TensorHandleCount { }

/// <summary>The addresses handed to ONNX Runtime and to the hand-written kernels.</summary>
[Collection(nameof(TensorMemoryTests))]
public sealed class TensorMemoryTests
{
    [Fact]
    public void The_address_is_the_first_element_of_a_view_for_each_type_handed_to_native_code()
    {
        using var floats = arange(Scalars.Of(24L), dtype: float32).reshape(2, 3, 4);
        using var view = floats.narrow(1, 1, 2);   // starts at element 4
        Assert.Equal(4f, BitConverter.Int32BitsToSingle(Marshal.ReadInt32(TensorMemory.Address(view))));
        Marshal.WriteInt32(TensorMemory.Address(view), BitConverter.SingleToInt32Bits(-7f));
        Assert.Equal(-7f, floats[0, 1, 0].item<float>());

        using var bytes = arange(Scalars.Of(10L), dtype: ScalarType.Byte);
        using var tail = bytes.narrow(0, 3, 5);
        Assert.Equal(3, Marshal.ReadByte(TensorMemory.Address(tail)));
        using var longs = arange(Scalars.Of(10L), dtype: ScalarType.Int64);
        using var middle = longs.narrow(0, 6, 2);
        Assert.Equal(6L, Marshal.ReadInt64(TensorMemory.Address(middle)));

        using var halves = zeros(2, dtype: ScalarType.Float16);
        Assert.Throws<ArgumentException>(() => TensorMemory.Address(halves));
    }

    [Fact]
    public void Taking_an_address_leaves_no_tensor_handle_behind()
    {
        // A handle left behind keeps the tensor's memory until the garbage collector finalises it: a server's request
        // images piled up that way.
        using var images = empty(1, 3, 64, 64);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.TotalCount;
        for (int i = 0; i < 100; i++) TensorMemory.Address(images);
        Assert.Equal(before, Tensor.TotalCount);
    }
}
