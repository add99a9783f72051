using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Segmenter.Dsl;
using Segmenter.Dsl.Binding;
using Segmenter.Dsl.Emit.PyTorch;
using Segmenter.Tooling;
using Xunit;

namespace Segmenter.PyTorch.Tests;

/// <summary>
/// A model's name becomes the class of its PyTorch module, beside the names the module defines and the builtins it calls:
/// a name the emitter accepts must give a module that imports, builds and runs.
/// </summary>
public sealed class GeneratedModuleNamesTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-module-names-");

    public void Dispose() => temporary.Delete(recursive: true);

    [SkippableFact]
    public void Every_identifier_of_the_generated_module_is_refused_as_a_model_name_or_works_as_one()
    {
        PythonTorch.RequireOrSkip();
        // Every identifier of the modules of a linear, a mask and a distilled model that both compilers take as a model name...
        var zoo = new[] { "SegT16", "SegTMask16", "SegBDeiTMask16" }.Select(ModelResolver.ResolveCompiled).ToList();
        var names = zoo.Select(PyTorchEmitter.Emit)
            .SelectMany(text => Regex.Matches(text, @"(?<![\w.])[A-Za-z_]\w*").Select(m => m.Value))
            .Distinct(StringComparer.Ordinal)
            .Where(n => CSharpNames.Problem(n) is null && PyTorchEmitter.NameProblem(n) is null && zoo.All(m => m.Spec.Name != n))
            .OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.True(names.Count > 50, string.Join(", ", names));

        // ...names a module of its own: each is imported, and its model built and run on a small image.
        var decoders = new[] { "linear", "mask(layers = 1, heads = 1)" };
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            var spec = $"backbone B {{ layers = 1 width = 16 heads = 1 distilled = {(i % 3 == 2 ? "true" : "false")} }}\n" +
                       $"model {name} {{ backbone = B patch = 8 image = 16 classes = 2 decoder = {decoders[i % 2]} }}";
            var compilation = SpecCompiler.Compile(spec, name + ".seg");
            Assert.True(compilation.Models.Count == 1, string.Join("\n", compilation.Diagnostics));
            File.WriteAllText(Path.Combine(temporary.FullName, $"m{i}.py"), PyTorchEmitter.Emit(compilation.Models[0]));
        }
        var output = PythonTorch.RunScript("""
            import sys
            torch.set_num_threads(1)
            failed = []
            for i in range(int(sys.argv[1])):
                try:
                    module = load_module(f"m{i}.py")
                    model = module.create_model().eval()
                    with torch.no_grad():
                        logits = model(torch.zeros(1, 3, 16, 24))
                    assert tuple(logits.shape) == (1, 2, 16, 24), tuple(logits.shape)
                    assert type(model).__name__ in module.__all__
                except Exception as error:
                    failed.append(f"m{i}: {type(error).__name__}: {error}")
            print("\n".join(failed) if failed else "ok")
            """, temporary.FullName, names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(output.Trim() == "ok", string.Join("\n", output.Split('\n').Take(30).Select(l =>
            Regex.Replace(l, @"^m(\d+):", m => names[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] + ":"))));
    }
}
