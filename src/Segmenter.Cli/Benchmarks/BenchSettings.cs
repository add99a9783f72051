namespace Segmenter.Cli.Benchmarks;

/// <summary>
/// What to measure; <paramref name="Onnx"/> is the ONNX backends' session (provider, TensorRT settings); <paramref name="Shards"/> splits a
/// training step's batch across threads as the trainer does (0: as the trainer chooses).
/// </summary>
internal sealed record BenchSettings(int Height, int Width, int Batch, int Threads, int Warmup, int Iterations, bool Train, bool Profile,
    Segmenter.Export.OnnxSessionOptions? Onnx = null, Segmenter.Runtime.ComputePrecision Precision = Segmenter.Runtime.ComputePrecision.Float32, int Shards = 0,
    Segmenter.Export.OnnxAttention? Attention = null, bool ExternalData = false);
