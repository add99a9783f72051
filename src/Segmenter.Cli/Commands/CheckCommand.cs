using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Dsl.Text;
using Segmenter.Tooling;

namespace Segmenter.Cli.Commands;

/// <summary><c>segmenter check &lt;file.seg…&gt;</c>: compile spec files together and print their diagnostics.</summary>
internal static class CheckCommand
{
    public static Command Create(CliConsole console)
    {
        var files = new Argument<string[]>("files") { Description = "Spec files, compiled as the build does: with the other .seg files of their folders and the built-in zoo; only what concerns the given files is reported.", Arity = ArgumentArity.OneOrMore };
        var context = new Option<bool>("--context") { Description = "Show each diagnostic's source line with the span underlined." };
        var command = new Command("check", "Check spec files: print diagnostics as path(line,col): error ID: message; exit 1 if any error.") { files, context };
        command.SetAction(result =>
        {
            var paths = result.GetValue(files)!.DistinctBy(Path.GetFullPath).ToList();   // a file named twice (e.g. by overlapping globs) is checked once
            var compilation = ModelResolver.CompileFiles(paths);
            // What concerns the given files: their own diagnostics and those of the declarations they depend on.
            var diagnostics = paths.SelectMany(compilation.DiagnosticsFor).Distinct()
                .OrderBy(d => d.Path, System.StringComparer.Ordinal).ThenBy(d => d.Span.Start).ToList();
            var texts = new System.Collections.Generic.Dictionary<string, SourceText>();
            foreach (var diagnostic in diagnostics.Take(MaximumPrinted))
            {
                console.Out.WriteLine(TerminalText.Escaped(diagnostic.ToString()));
                if (result.GetValue(context) && File.Exists(diagnostic.Path))
                {
                    if (!texts.TryGetValue(diagnostic.Path, out var source))
                        texts[diagnostic.Path] = source = SourceText.From(SpecFiles.Read(diagnostic.Path), diagnostic.Path);
                    WriteContext(console, source, diagnostic.Span);
                }
            }
            if (diagnostics.Count > MaximumPrinted)
                console.Out.WriteLine($"… and {diagnostics.Count - MaximumPrinted} more diagnostics (the first {MaximumPrinted} are shown; fix those and check again)");
            int models = paths.SelectMany(compilation.DeclaredModels).Distinct().Count(n => compilation.Find(n) is not null);
            int errors = diagnostics.Count(d => d.IsError);
            console.Out.WriteLine($"{paths.Count} file{(paths.Count == 1 ? "" : "s")}, {models} model{(models == 1 ? "" : "s")}, {errors} error{(errors == 1 ? "" : "s")}");
            return errors > 0 ? 1 : 0;
        });
        return command;
    }

    /// <summary>The most diagnostics printed for one check; the rest are counted.</summary>
    private const int MaximumPrinted = 200;

    private static void WriteContext(CliConsole console, SourceText text, TextSpan span)
    {
        var start = text.GetLinePosition(span.Start);
        var lineSpan = text.GetLineSpan(start.Line);
        var line = text.ToString(lineSpan);
        var spanned = line.Substring(start.Character, System.Math.Max(0, System.Math.Min(span.End, lineSpan.End) - span.Start));
        int length = System.Math.Max(1, TerminalText.Columns(spanned));
        var number = (start.Line + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The caret line repeats the line's tabs, so the caret sits under the span however wide the terminal's tabs are;
        // other text is measured in the columns it takes (wide characters two, escaped ones six).
        var indent = string.Join("\t", line.Substring(0, start.Character).Split('\t').Select(part => new string(' ', TerminalText.Columns(part))));
        console.Out.WriteLine($"  {number} | {TerminalText.Escaped(line)}");
        console.Out.WriteLine($"  {new string(' ', number.Length)} | {indent}{new string('^', length)}");
    }
}
