using System.CommandLine;
using System.Linq;
using Segmenter.Dsl.Emit;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter emit &lt;file.seg&gt; [--model Name] [--namespace N]</c>: the C# the generator writes for a spec file.</summary>
internal static class EmitCommand
{
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "A spec file." };
        var model = new Option<string?>("--model") { Description = "Emit only this model (default: every model in the file)." };
        var ns = new Option<string>("--namespace") { Description = "Namespace of the generated classes.", DefaultValueFactory = _ => "Segmenter.Models" };
        var command = new Command("emit", "Print the C# generated for the models of a spec file: each class and its ONNX partial.") { file, model, ns };
        command.SetAction(result =>
        {
            var path = result.GetValue(file)!;
            var compilation = ModelResolver.CompileFile(path);
            var declared = compilation.DeclaredModels(path);
            var names = result.GetValue(model) is { } name ? new[] { name }.ToList() : declared.ToList();
            if (names.Count == 0)
            {
                var errors = compilation.DiagnosticsFor(path).Where(d => d.IsError).ToList();
                if (errors.Count > 0) throw new SpecCompilationException($"{path} has errors", errors);
                throw new System.ArgumentException($"{path} declares no model");
            }
            var models = names.Select(n =>
            {
                if (!declared.Contains(n))
                    throw new System.ArgumentException($"{path} has no model '{n}'; it declares {(declared.Count == 0 ? "none" : string.Join(", ", declared))}");
                return compilation.Find(n) ?? throw new SpecCompilationException($"model '{n}' in {path} does not compile", compilation.DiagnosticsForModel(n));
            }).ToList();
            var separator = false;
            foreach (var compiled in models)
            {
                if (separator) console.Out.WriteLine();
                console.Out.Write(CSharpEmitter.EmitModel(compiled, result.GetValue(ns)!));
                console.Out.WriteLine();
                console.Out.Write(CSharpEmitter.EmitOnnxGraph(compiled, result.GetValue(ns)!));
                separator = true;
            }
            return 0;
        });
        return command;
    }
}
