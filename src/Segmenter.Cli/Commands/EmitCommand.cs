using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Dsl.Emit;
using Segmenter.Dsl.Emit.PyTorch;
using Segmenter.Runtime;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter emit &lt;model&gt; [--target csharp|pytorch] [--out F] [--model Name] [--namespace N]</c>: the code the
/// compiler generates for a model — the C# class and its ONNX partial, or the same model as a PyTorch module.
/// </summary>
internal static class EmitCommand
{
    public static Command Create(CliConsole console)
    {
        var argument = new Argument<string>("model") { Description = "A zoo model, path/to/file.seg[:Model] (a file alone: each of its models), or a reference variant.yml." };
        var target = new Option<string>("--target") { Description = "csharp (the TorchSharp class and its ONNX graph, as the build generates them) or pytorch (a self-contained PyTorch module).", DefaultValueFactory = _ => "csharp" };
        var output = new Option<string?>("--out") { Description = "The file to write (atomically); default: standard output." };
        var model = new Option<string?>("--model") { Description = "With a spec file: only this model." };
        var ns = new Option<string>("--namespace") { Description = "Namespace of the generated C# classes.", DefaultValueFactory = _ => "Segmenter.Models" };
        var command = new Command("emit", "Print or write the code generated for a model: C# (TorchSharp class and ONNX graph) or a PyTorch module.") { argument, target, output, model, ns };
        command.SetAction(result =>
        {
            var targetName = result.GetValue(target)!.Trim().ToLowerInvariant();
            if (targetName is not ("csharp" or "pytorch"))
                throw new ArgumentException($"unknown target '{result.GetValue(target)}': use csharp or pytorch");
            var namespaceName = result.GetValue(ns)!;
            if (targetName == "csharp" && !IsNamespace(namespaceName))
                throw new ArgumentException($"--namespace '{namespaceName}' is not a C# namespace: dotted identifiers that are not keywords, such as My.Models");
            if (targetName == "pytorch" && result.GetResult(ns) is { Implicit: false })
                throw new ArgumentException("--namespace names the generated C#'s namespace; a PyTorch module has none (leave it out, or use --target csharp)");

            var models = Models(result.GetValue(argument)!, result.GetValue(model));
            if (targetName == "pytorch" && models.Count > 1)
                throw new ArgumentException($"a PyTorch module file holds one model; choose one of {string.Join(", ", models.Select(m => m.Spec.Name))} with file.seg:Name or --model");
            var text = targetName == "pytorch"
                ? PyTorchEmitter.Emit(models[0])
                : string.Join("\n", models.Select(m => CSharpEmitter.EmitModel(m, namespaceName) + "\n" + CSharpEmitter.EmitOnnxGraph(m, namespaceName)));
            if (result.GetValue(output) is { } path)
            {
                AtomicFile.WriteText(path, text);
                console.Out.WriteLine($"wrote {path} ({string.Join(", ", models.Select(m => m.Spec.Name))}, {targetName})");
            }
            else
            {
                console.Out.Write(text);
            }
            return 0;
        });
        return command;
    }

    /// <summary>The models to emit: a spec file's models (or the one named), or the one model any other argument names.</summary>
    private static IReadOnlyList<CompiledModel> Models(string argument, string? only)
    {
        if (!ModelResolver.IsSpecFile(argument) || PathArgument.Split(argument).Name is not null)
        {
            var single = ModelResolver.ResolveCompiled(argument);
            if (only is not null && only != single.Spec.Name)
                throw new ArgumentException($"--model {only} does not match {argument}, which names {single.Spec.Name}");
            return new[] { single };
        }
        return ModelResolver.FileModels(argument, only);
    }

    private static bool IsNamespace(string name) =>
        name.Split('.').All(part => part.Length > 0 && (char.IsLetter(part[0]) || part[0] == '_') && part.All(c => char.IsLetterOrDigit(c) || c == '_')
                                    && !Segmenter.Dsl.Binding.CSharpNames.IsKeyword(part));
}
