using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Export;
using Segmenter.Tooling;
using Segmenter.Runtime;
using Segmenter.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Cli.Benchmarks;

/// <summary>What to measure.</summary>
internal sealed record BenchSettings(int Height, int Width, int Batch, int Threads, int Warmup, int Iterations, bool Train, bool Profile);
