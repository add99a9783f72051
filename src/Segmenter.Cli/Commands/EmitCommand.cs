using System.CommandLine;
using System.Linq;
using Segmenter.Dsl.Emit;
using Segmenter.Models;
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
        var command = new Command("emit", "Print the C# generated for the models of a spec file.") { file, model, ns };
        command.SetAction(result =>
        {
            var path = result.GetValue(file)!;
            var compilation = ModelResolver.CompileFile(path);
            if (compilation.HasErrors)
                throw new SpecCompilationException($"{path} has errors", compilation.Diagnostics.Where(d => d.IsError).ToList());
            var models = compilation.Models.ToList();
            if (result.GetValue(model) is { } name)
            {
                models = models.Where(m => m.Spec.Name == name).ToList();
                if (models.Count == 0)
                    throw new System.ArgumentException($"{path} has no model '{name}'; it declares {string.Join(", ", compilation.Models.Select(m => m.Spec.Name))}");
            }
            var separator = false;
            foreach (var compiled in models)
            {
                if (separator) console.Out.WriteLine();
                console.Out.Write(CSharpEmitter.EmitModel(compiled, result.GetValue(ns)!));
                separator = true;
            }
            return 0;
        });
        return command;
    }
}
