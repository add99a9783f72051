using System;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The memory of CPU tensors, for code that hands it to native libraries (ONNX Runtime) or reads and writes it in place.</summary>
public static class TensorMemory
{
    /// <summary>
    /// The address of the tensor's first element (float32, uint8 or int64, on the CPU); valid while the tensor lives.
    /// TorchSharp's storage object holds a tensor handle of its own: it is disposed here, or the memory it refers to
    /// would stay taken until the garbage collector finalised it (a server grew by a request's tensors at a time).
    /// </summary>
    public static IntPtr Address(Tensor tensor)
    {
        if (tensor.device.type != TorchSharp.DeviceType.CPU) throw new ArgumentException($"expected a CPU tensor, got one on {tensor.device}");
        var storage = tensor.dtype switch
        {
            ScalarType.Float32 => StorageAddress(tensor.storage<float>()),
            ScalarType.Byte => StorageAddress(tensor.storage<byte>()),
            ScalarType.Int64 => StorageAddress(tensor.storage<long>()),
            _ => throw new ArgumentException($"tensors of {tensor.dtype} are not handed to native code here (float32, uint8 and int64 are)"),
        };
        return storage + (nint)(tensor.storage_offset() * tensor.element_size());
    }

    private static IntPtr StorageAddress<T>(Storage<T> storage) where T : unmanaged
    {
        using (storage) return storage.data_ptr();
    }
}
