using System;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>
/// Where dropout and drop-path draw their random numbers: by default libtorch's global generator; inside
/// <see cref="Use"/>, one generator per sample of the batch, on this thread only. With a generator per sample, a sample's
/// masks depend on its own seed and not on which other samples share its forward pass, so a training step split over
/// threads (each taking part of the batch) draws the same masks as the whole batch in one pass, and two such threads never
/// share a generator.
/// </summary>
public static class SampleRandomness
{
    [ThreadStatic] private static Generator[]? current;

    /// <summary>
    /// Until the result is disposed, the masks of this thread's forward passes come from <paramref name="generators"/>, the
    /// first sample's from the first (the batch must have one sample per generator).
    /// </summary>
    public static IDisposable Use(Generator[] generators)
    {
        ArgumentNullException.ThrowIfNull(generators);
        var previous = current;
        current = generators;
        return new Restore(previous);
    }

    /// <summary>
    /// A mask of <paramref name="shape"/> (the first dimension is the batch) whose elements are 1 / <paramref name="keep"/>
    /// with probability <paramref name="keep"/> and 0 otherwise: multiply activations by it to drop and rescale them.
    /// </summary>
    public static Tensor ScaledKeepMask(long[] shape, double keep, ScalarType type, Device device)
    {
        var generators = current;
        if (generators is null) return empty(shape, type, device).bernoulli_(keep).div_(Scalars.Of(keep));
        if (shape.Length == 0 || shape[0] != generators.Length)
            throw new InvalidOperationException($"a batch of {(shape.Length == 0 ? 0 : shape[0])} samples was given {generators.Length} per-sample generators; " +
                                                "SampleRandomness.Use needs one generator per sample of every forward pass it covers");
        // Each sample's mask is drawn on the CPU, where the generators are, from a key the sample's generator gives, then
        // moved as one tensor.
        var mask = empty(shape, ScalarType.Float32, CPU);
        long perSample = mask.numel() / generators.Length;
        float kept = 1f / (float)keep;   // as bernoulli_ then div_ by keep in float32 would make it
        int threads = get_num_threads();
        unsafe
        {
            var data = (float*)TensorMemory.Address(mask);
            for (int i = 0; i < generators.Length; i++) KeepMasks.Fill(data + i * perSample, 0, perSample, keep, kept, Key(generators[i]), threads);
        }
        if (type == ScalarType.Float32 && device.type == TorchSharp.DeviceType.CPU) return mask;
        using (mask) return mask.to(type, device);
    }

    /// <summary>A 63-bit key drawn from <paramref name="generator"/> (advancing it).</summary>
    private static ulong Key(Generator generator)
    {
        using var draw = randint(0, long.MaxValue, new long[] { 1 }, ScalarType.Int64, generator: generator);
        return (ulong)draw.item<long>();
    }

    private sealed class Restore(Generator[]? previous) : IDisposable
    {
        private bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            current = previous;
        }
    }
}
