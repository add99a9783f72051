using System;
using System.Linq;
using Segmenter.Dsl.Emit.PyTorch;
using Xunit;

namespace Segmenter.Dsl.Tests;

/// <summary>The PyTorch emitter's text (its numbers are tested against TorchSharp in Segmenter.PyTorch.Tests, which runs torch).</summary>
public sealed class PyTorchEmitterTests
{
    [Fact]
    public void Every_zoo_model_emits_a_module_with_its_class_spec_and_factory()
    {
        var zoo = SemanticsTests.CompileZoo();
        Assert.NotEmpty(zoo.Models);
        foreach (var model in zoo.Models)
        {
            var text = PyTorchEmitter.Emit(model);
            Assert.Contains($"class {model.Spec.Name}(nn.Module):", text);
            Assert.Contains($"    \"name\": \"{model.Spec.Name}\",", text);
            Assert.Contains("def create_model():", text);
            Assert.Contains(model.Spec.Decoder.Kind == Spec.DecoderKind.Mask ? "def decoder_attention(" : "self.head = nn.Linear(WIDTH, NUM_CLASSES)", text);
            Assert.DoesNotContain("\r", text);
            Assert.Equal(text, PyTorchEmitter.Emit(model));   // deterministic
        }
    }

    [Theory]
    [InlineData("None", "Python keyword")]
    [InlineData("Mlp", "defines itself")]
    [InlineData("SPEC", "defines itself")]
    public void Names_Python_cannot_take_are_refused_with_the_reason(string name, string reason)
    {
        var model = SpecCompiler.Compile($"backbone B {{ layers = 1 width = 32 heads = 2 }}\nmodel {name} {{ backbone = B patch = 8 image = 32 classes = 3 }}").Models.Single();
        var error = Assert.Throws<ArgumentException>(() => PyTorchEmitter.Emit(model));
        Assert.Contains(reason, error.Message);
        Assert.Contains("rename the model", error.Message);
    }

    [Fact]
    public void Class_names_outside_ascii_become_python_escapes()
    {
        Assert.Equal("\"caf\\u00e9 \\\"x\\\" \\U0001f600\"", PythonLiterals.String("café \"x\" \U0001F600"));
    }
}
