using System.IO;
using Spectre.Console;

namespace Segmenter.Cli;

/// <summary>Where commands write: plain text and JSON to the output, tables through Spectre.Console, errors to the error writer (made safe to print: <see cref="TerminalText"/>).</summary>
public sealed class CliConsole
{
    /// <summary>Creates a console over two writers.</summary>
    public CliConsole(TextWriter output, TextWriter error)
    {
        Out = output;
        Err = error;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = output == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = output == System.Console.Out && !System.Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        // Redirected output (a file, a pipe, a test) has no width: do not wrap table cells at 80 columns.
        if (output != System.Console.Out || System.Console.IsOutputRedirected) Ansi.Profile.Width = 200;
    }

    /// <summary>True when output goes to a terminal (progress bars), false when redirected (plain log lines).</summary>
    public bool IsInteractive => Out == System.Console.Out && !System.Console.IsOutputRedirected;

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Err { get; }

    /// <summary>Spectre.Console over <see cref="Out"/>.</summary>
    public IAnsiConsole Ansi { get; }

    /// <summary>Writes "error: message" to standard error.</summary>
    public void Error(string message) => Err.WriteLine("error: " + TerminalText.Safe(message));

    /// <summary>Writes "warning: …" to the error stream: something the user should know, which does not stop the command.</summary>
    public void Warning(string message) => Err.WriteLine("warning: " + TerminalText.Safe(message));
}
