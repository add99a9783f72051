using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Dsl.Text;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;
using Segmenter.Spec;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter import &lt;variant.yml | checkpoint.safetensors&gt; [--name N]</c>: the .seg text of a reference model
/// description, or of the model a checkpoint of this project was trained as.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CliConsole console)
    {
        var source = new Argument<string>("source") { Description = "A reference variant.yml (or the folder holding it), or a checkpoint this project wrote (either engine's .safetensors)." };
        var name = new Option<string?>("--name") { Description = "The model's name (default: the variant folder's name in PascalCase, or the checkpoint's model)." };
        var command = new Command("import", "Print the spec (.seg) of a reference variant.yml or of a project checkpoint's model, to adopt it into a project.") { source, name };
        command.SetAction(result =>
        {
            var path = result.GetValue(source)!;
            if (result.GetValue(name) is { } modelName && Segmenter.Dsl.Binding.CSharpNames.Problem(modelName) is { } problem)
                throw new ArgumentException($"--name '{modelName}' cannot name a model: {problem}");
            if (File.Exists(path) && SafeTensors.LooksLikeSafeTensors(path))
            {
                console.Out.Write(CheckpointSpecText(path, result.GetValue(name)));
                return 0;
            }
            if (File.Exists(path) && IsBinary(path))
                throw new InvalidDataException($"{path}: a binary file, not a variant.yml; import reads a reference variant.yml (YAML text) or a checkpoint " +
                                               "this project wrote (.safetensors); other weights load into a spec with --checkpoint, or into the project's format with convert");
            var reference = ReferenceVariant.Read(path);
            var text = reference.ToSpecText(result.GetValue(name));
            reference.Compile(result.GetValue(name));   // fails with the diagnostics if the translation is not a valid model
            console.Out.Write(text);
            return 0;
        });
        return command;
    }

    /// <summary>The spec a project checkpoint records, printed as .seg text (renamed to <paramref name="modelName"/> if given) and compiled to make sure it is one.</summary>
    private static string CheckpointSpecText(string path, string? modelName)
    {
        var metadata = SafeTensors.ReadMetadata(path);
        if (!ProjectCheckpoint.IsProjectMetadata(metadata))
            throw new InvalidDataException($"{path}: safetensors without this project's spec (no 'format = segmenter-dsl/…' metadata), so it names no model to import; " +
                                           "its weights load into a spec with --checkpoint");
        var spec = ProjectCheckpoint.ReadSpec(path, metadata);
        string text;
        if (spec is null)   // a version-1 file: its .seg text as written
        {
            if (modelName is not null)
                throw new InvalidDataException($"{path}: a version-1 file holds its spec only as text, which import prints as it is: leave out --name and rename the model in the text");
            text = metadata[ProjectCheckpoint.SpecKey];
        }
        else
        {
            text = SpecPrinter.Print(modelName is null ? spec : spec with { Name = modelName });
        }
        var compilation = SpecCompiler.Compile(new[] { SourceText.From(text, path + ".seg") }, ModelResolver.ZooSpecs);
        _ = compilation.Models.SingleOrDefault()
            ?? throw new SpecCompilationException($"{path}: its spec does not compile as printed (the positions below refer to this text):\n{text}", compilation.Diagnostics);
        return text;
    }

    private static bool IsBinary(string path)
    {
        using var stream = File.OpenRead(path);
        var start = new byte[4096];
        int read = stream.Read(start, 0, start.Length);
        return start.AsSpan(0, read).Contains((byte)0);
    }
}
