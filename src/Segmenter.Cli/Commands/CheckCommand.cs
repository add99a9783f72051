using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Dsl.Text;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter check &lt;file.seg…&gt;</c>: compile spec files together and print their diagnostics.</summary>
internal static class CheckCommand
{
    public static Command Create(CliConsole console)
    {
        var files = new Argument<string[]>("files") { Description = "Spec files, compiled together (the built-in zoo's declarations may be used by name).", Arity = ArgumentArity.OneOrMore };
        var context = new Option<bool>("--context") { Description = "Show each diagnostic's source line with the span underlined." };
        var command = new Command("check", "Check spec files: print diagnostics as path(line,col): error ID: message; exit 1 if any error.") { files, context };
        command.SetAction(result =>
        {
            var sources = result.GetValue(files)!
                .DistinctBy(Path.GetFullPath)   // a file named twice (e.g. by overlapping globs) is compiled once
                .Select(path =>
                {
                    if (!File.Exists(path)) throw new FileNotFoundException($"spec file '{path}' does not exist", path);
                    return SourceText.From(File.ReadAllText(path), path);
                }).ToList();
            var byPath = sources.ToDictionary(s => s.Path);
            var compilation = SpecCompiler.Compile(sources, ModelResolver.ZooSpecs);
            foreach (var diagnostic in compilation.Diagnostics)
            {
                console.Out.WriteLine(diagnostic.ToString());
                if (result.GetValue(context) && byPath.TryGetValue(diagnostic.Path, out var source))
                    WriteContext(console, source, diagnostic.Span);
            }
            int errors = compilation.Diagnostics.Count(d => d.IsError);
            console.Out.WriteLine($"{sources.Count} file{(sources.Count == 1 ? "" : "s")}, {compilation.Models.Count} model{(compilation.Models.Count == 1 ? "" : "s")}, {errors} error{(errors == 1 ? "" : "s")}");
            return errors > 0 ? 1 : 0;
        });
        return command;
    }

    private static void WriteContext(CliConsole console, SourceText text, TextSpan span)
    {
        var start = text.GetLinePosition(span.Start);
        var lineSpan = text.GetLineSpan(start.Line);
        var line = text.ToString(lineSpan);
        int length = System.Math.Max(1, System.Math.Min(span.End, lineSpan.End) - span.Start);
        var number = (start.Line + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        console.Out.WriteLine($"  {number} | {line}");
        console.Out.WriteLine($"  {new string(' ', number.Length)} | {new string(' ', start.Character)}{new string('^', length)}");
    }
}
