namespace Segmenter.Cli.Benchmarks;

/// <summary>What to measure.</summary>
internal sealed record BenchSettings(int Height, int Width, int Batch, int Threads, int Warmup, int Iterations, bool Train, bool Profile);
