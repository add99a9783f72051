using System.CommandLine;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter import &lt;variant.yml&gt; [--name N]</c>: the .seg text equivalent to a reference model description.</summary>
internal static class ImportCommand
{
    public static Command Create(CliConsole console)
    {
        var variant = new Argument<string>("variant") { Description = "A reference variant.yml, or the folder holding it." };
        var name = new Option<string?>("--name") { Description = "The model's name (default: the folder's name in PascalCase)." };
        var command = new Command("import", "Print the spec (.seg) equivalent to a reference variant.yml, to adopt it into a project.") { variant, name };
        command.SetAction(result =>
        {
            var reference = ReferenceVariant.Read(result.GetValue(variant)!);
            var text = reference.ToSpecText(result.GetValue(name));
            reference.Compile(result.GetValue(name));   // fails with the diagnostics if the translation is not a valid model
            console.Out.Write(text);
            return 0;
        });
        return command;
    }
}
