using System;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>The memory of CPU tensors, for code that hands it to native libraries (ONNX Runtime) or reads and writes it in place.</summary>
public static class TensorMemory
{
    /// <summary>
    /// The address of the tensor's first element (float32, uint8 or int64, on the CPU); valid while the tensor lives.
    /// Asked of libtorch directly: TorchSharp's <c>storage&lt;T&gt;()</c> makes a tensor handle of its own that its
    /// <c>Dispose</c> leaves alive, so each call through it kept the tensor's memory until the garbage collector
    /// finalised that handle (a server held up to a hundred request images, 3 MB each, that way).
    /// </summary>
    public static IntPtr Address(Tensor tensor)
    {
        if (tensor.device.type != TorchSharp.DeviceType.CPU) throw new ArgumentException($"expected a CPU tensor, got one on {tensor.device}");
        if (tensor.dtype is not (ScalarType.Float32 or ScalarType.Byte or ScalarType.Int64))
            throw new ArgumentException($"tensors of {tensor.dtype} are not handed to native code here (float32, uint8 and int64 are)");
        return DataPointer(tensor.Handle);   // at::Tensor::data_ptr: the storage's memory plus the tensor's offset
    }

    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static extern IntPtr DataPointer(IntPtr tensor);
}
