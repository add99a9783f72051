using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Segmenter.Dsl;
using Segmenter.Dsl.Emit.PyTorch;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Tests;
using Segmenter.Tooling;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.PyTorch.Tests;

/// <summary>
/// The PyTorch module the compiler emits against the TorchSharp class it generates from the same spec: the same
/// state dict (keys, shapes, order), the same forward pass and attention maps on the same weights, the reference's
/// fixtures reproduced, and the same initialisation in distribution.
/// </summary>
public sealed class EngineParityTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-pytorch-");

    public void Dispose() => temporary.Delete(recursive: true);

    [SkippableFact]
    public void Every_zoo_model_has_the_same_state_dict_in_both_engines()
    {
        PythonTorch.RequireOrSkip();
        var names = ModelResolver.Zoo.Select(m => m.Name).ToList();
        foreach (var name in names)
            File.WriteAllText(Path.Combine(temporary.FullName, name + ".py"), PyTorchEmitter.Emit(ModelResolver.ResolveCompiled(name)));

        var output = PythonTorch.RunScript("""
            import gc, sys
            torch.set_num_threads(2)
            for name in sys.argv[1:]:
                model = load_module(name + ".py").create_model()
                for key, value in model.state_dict().items():
                    print(name, key, "[" + ", ".join(str(d) for d in value.shape) + "]")
                del model
                gc.collect()
            """, temporary.FullName, names.ToArray());
        var python = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)).ToLookup(p => p[0], p => p[1]);

        foreach (var name in names)
        {
            using var model = ModelResolver.Resolve(name).Create(null);
            var dotnet = model.StateDictShapes().Select(p => $"{p.Key} [{string.Join(", ", p.Shape)}]").ToList();
            Assert.True(dotnet.SequenceEqual(python[name]), $"{name}: the PyTorch module's state dict differs:\n" +
                string.Join("\n", dotnet.Zip(python[name]).Where(p => p.First != p.Second).Take(5).Select(p => $"  C# {p.First}  PyTorch {p.Second}")) +
                $"\n  ({dotnet.Count} tensors in C#, {python[name].Count()} in PyTorch)");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(ReferenceFixtures.Names), MemberType = typeof(ReferenceFixtures))]
    public void Forward_passes_and_attention_maps_agree_on_the_same_weights(string fixture)
    {
        PythonTorch.RequireOrSkip();
        var compiled = SpecCompiler.Compile(ReferenceFixtures.Specs[fixture]).Models.Single();
        var module = Path.Combine(temporary.FullName, "model.py");
        File.WriteAllText(module, PyTorchEmitter.Emit(compiled));

        manual_seed(7);
        using var model = DynamicModels.Load(new[] { compiled }).Single().Create(null);
        using (no_grad())
        {
            foreach (var parameter in model.parameters()) parameter.PlusInPlace(randn_like(parameter).mul_(Scalars.Of(0.05)));   // no zero biases or unit norms left
        }
        model.eval();
        var weights = Path.Combine(temporary.FullName, "weights.safetensors");
        SafeTensors.Write(weights, model.state_dict());

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = randn(2, 3, 37, 51);   // sides that are not multiples of any patch: padding and position-embedding resizing
        var tensors = new Dictionary<string, Tensor>
        {
            ["images"] = images,
            ["logits"] = model.call(images),
            ["encoder_attention"] = model.EncoderAttention(images, 1),
        };
        bool mask = compiled.Spec.Decoder.Kind == Spec.DecoderKind.Mask;
        if (mask) tensors["decoder_attention"] = model.DecoderAttention(images, 0);
        var io = Path.Combine(temporary.FullName, "io.safetensors");
        SafeTensors.Write(io, tensors);

        var output = PythonTorch.RunScript("""
            import json, sys
            module = load_module(sys.argv[1])
            model = module.create_model()
            model.load_state_dict(read_safetensors(sys.argv[2]), strict=True)
            model.eval()
            io = read_safetensors(sys.argv[3])
            with torch.no_grad():
                results = {"logits": model(io["images"]), "encoder_attention": model.encoder_attention(io["images"], 1)}
                if "decoder_attention" in io:
                    results["decoder_attention"] = model.decoder_attention(io["images"], 0)
            print(json.dumps({k: [list(v.shape), (v - io[k]).abs().max().item()] for k, v in results.items()}))
            """, temporary.FullName, module, weights, io);
        var differences = JsonDocument.Parse(output.Trim().Split('\n').Last()).RootElement;
        Assert.Equal(mask ? 3 : 2, differences.EnumerateObject().Count());
        foreach (var (name, expected) in tensors.Where(t => t.Key != "images"))
        {
            var entry = differences.GetProperty(name);
            Assert.Equal(expected.shape, entry[0].EnumerateArray().Select(e => e.GetInt64()).ToArray());
            double difference = entry[1].GetDouble();
            Assert.True(difference <= 1e-4, $"{fixture} {name}: max |PyTorch − TorchSharp| = {difference:E3}, expected at most 1e-4");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(ReferenceFixtures.Names), MemberType = typeof(ReferenceFixtures))]
    public void The_reference_fixtures_reproduce_through_the_pytorch_module(string fixture)
    {
        PythonTorch.RequireOrSkip();
        var module = Path.Combine(temporary.FullName, "model.py");
        File.WriteAllText(module, PyTorchEmitter.Emit(ModelResolver.ResolveCompiled(TestPaths.Fixture(fixture, "variant.yml"))));
        var output = PythonTorch.RunScript("""
            import json, sys
            model = load_module(sys.argv[1]).create_model()
            state = torch.load(sys.argv[2], map_location="cpu")["model"]
            result = model.load_state_dict(state, strict=False)
            unused = [k for k in result.unexpected_keys if not k.startswith("encoder.head")]
            assert not result.missing_keys and not unused, (result.missing_keys, unused)
            model.eval()
            io = read_safetensors(sys.argv[3])
            with torch.no_grad():
                report = {"logits": (model(io["input"]) - io["logits"]).abs().max().item()}
                for key in io:
                    if key.startswith("attention_encoder_layer"):
                        layer = int(key[len("attention_encoder_layer"):])
                        report[key] = (model.encoder_attention(io["attention_input"], layer) - io[key]).abs().max().item()
            print(json.dumps(report))
            """, temporary.FullName, module, TestPaths.Fixture(fixture, "checkpoint.pth"), TestPaths.Fixture(fixture, "io.safetensors"));
        var report = JsonDocument.Parse(output.Trim().Split('\n').Last()).RootElement;
        foreach (var entry in report.EnumerateObject())
            Assert.True(entry.Value.GetDouble() <= 1e-4, $"{fixture} {entry.Name}: max |PyTorch − reference| = {entry.Value.GetDouble():E3}, expected at most 1e-4");
    }

    [SkippableFact]
    public void Both_engines_initialise_every_tensor_from_the_same_distribution()
    {
        PythonTorch.RequireOrSkip();
        const string Text = "backbone Mid { layers = 2 width = 192 heads = 3 distilled = true }\n" +
                            "model MidMask { backbone = Mid patch = 8 image = 64 classes = 24 decoder = mask(layers = 1) }";
        var compiled = SpecCompiler.Compile(Text).Models.Single();
        var module = Path.Combine(temporary.FullName, "model.py");
        File.WriteAllText(module, PyTorchEmitter.Emit(compiled));
        var output = PythonTorch.RunScript("""
            import json, sys
            torch.manual_seed(3)
            model = load_module(sys.argv[1]).create_model()
            print(json.dumps({k: [v.numel(), v.double().mean().item(), v.double().std().item() if v.numel() > 1 else 0.0] for k, v in model.state_dict().items()}))
            """, temporary.FullName, module);
        var python = JsonDocument.Parse(output.Trim().Split('\n').Last()).RootElement;

        manual_seed(3);
        using var model = DynamicModels.Load(new[] { compiled }).Single().Create(null);
        foreach (var (key, tensor) in model.state_dict())
        {
            var other = python.GetProperty(key);
            long n = other[0].GetInt64();
            double mean = tensor.to(ScalarType.Float64).mean().item<double>(), std = n > 1 ? tensor.to(ScalarType.Float64).std().item<double>() : 0;
            double otherMean = other[1].GetDouble(), otherStd = other[2].GetDouble();
            Assert.Equal(tensor.numel(), n);
            if (std == 0 && otherStd == 0)
            {
                Assert.True(Math.Abs(mean - otherMean) <= 1e-7, $"{key}: constant {mean} in C#, {otherMean} in PyTorch");
                continue;
            }
            // Six standard errors: a real difference in the distribution fails, sampling noise does not.
            double meanBound = 6 * Math.Max(std, otherStd) / Math.Sqrt(n) + 1e-7;
            double stdBound = 6 / Math.Sqrt(2.0 * n) + 0.01;
            Assert.True(Math.Abs(mean - otherMean) <= meanBound, $"{key}: mean {mean.ToString("E3", CultureInfo.InvariantCulture)} in C#, {otherMean:E3} in PyTorch (bound {meanBound:E2})");
            Assert.True(Math.Abs(std / otherStd - 1) <= stdBound, $"{key}: std {std:E3} in C#, {otherStd:E3} in PyTorch (relative bound {stdBound:F3})");
        }
    }
}
