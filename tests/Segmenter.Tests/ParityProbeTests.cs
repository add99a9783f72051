using System;
using System.Collections;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Models;
using Segmenter.Runtime.Checkpoints;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Segmenter.Tests;

public sealed class ParityProbeTests
{
    private readonly ITestOutputHelper output;

    public ParityProbeTests(ITestOutputHelper output) => this.output = output;

    [Theory]
    [InlineData("micro-linear", "backbone Micro { layers = 2 width = 64 heads = 2 }\nmodel MicroLinear { backbone = Micro patch = 8 image = 32 classes = 5 }")]
    [InlineData("micro-mask", "backbone Micro { layers = 2 width = 64 heads = 2 }\nmodel MicroMask { backbone = Micro patch = 8 image = 32 classes = 5 decoder = mask(layers = 2) }")]
    [InlineData("micro-deit-mask", "backbone Micro { layers = 2 width = 128 heads = 2 distilled = true }\nmodel MicroDeit { backbone = Micro patch = 16 image = 48 classes = 4 decoder = mask(layers = 2) normalize = imagenet }")]
    public void Probe(string fixture, string specText)
    {
        var compilation = SpecCompiler.Compile(specText);
        Assert.Empty(compilation.Diagnostics);
        var entry = DynamicModels.Load(compilation.Models).Single();
        using var model = entry.Create(null);
        var checkpoint = PyTorchUnpickler.UnpickleStateDict(TestPaths.Fixture(fixture, "checkpoint.pth"));
        var stateDict = (Hashtable)checkpoint["model"]!;
        var dict = stateDict.Cast<DictionaryEntry>().Where(e => !((string)e.Key).StartsWith("encoder.head")).ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        var (missing, unexpected) = model.load_state_dict(dict, strict: false);
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        var io = SafeTensors.Read(TestPaths.Fixture(fixture, "io.safetensors"));
        var logits = model.Predict(io["input"]);
        var difference = (logits - io["logits"]).abs().max().item<float>();
        output.WriteLine($"{fixture}: max abs difference {difference}");
        Assert.True(difference < 1e-4, $"{difference}");
    }
}
