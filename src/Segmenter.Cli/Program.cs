using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using Segmenter.Cli.Commands;
using Segmenter.Tooling;

namespace Segmenter.Cli;

/// <summary>The <c>segmenter</c> command line.</summary>
public static class Program
{
    /// <summary>Runs the command line; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        // Before any command makes a tensor (bench measures products first); help and the version need no libtorch.
        if (!args.Any(a => a is "-h" or "--help" or "-?" or "--version") && args.Length > 0) Segmenter.Runtime.NativeSettings.Apply();
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>Runs the command line with the given writers (tests capture the output this way).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var console = new CliConsole(output, error);
        var root = new RootCommand("Define, inspect, train and deploy Segmenter models declared in .seg spec files.")
        {
            ListCommand.Create(console),
            ShowCommand.Create(console),
            CheckCommand.Create(console),
            EmitCommand.Create(console),
            PredictCommand.Create(console),
            ConvertCommand.Create(console),
            ImportCommand.Create(console),
            AttentionCommand.Create(console),
            ExportCommand.Create(console),
            MakeDatasetCommand.Create(console),
            TrainCommand.Create(console),
            EvalCommand.Create(console),
            BenchCommand.Create(console),
            QuickstartCommand.Create(console),
            ServeCommand.Create(console),
        };
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // One convention for every error: "error: …" lines on standard error, exit code 1.
                foreach (var problem in parsed.Errors.Take(5)) console.Error(problem.Message);
                var command = parsed.CommandResult.Command;
                console.Err.WriteLine(command == root ? "run 'segmenter --help' for the commands" : $"run 'segmenter {command.Name} --help' for its arguments and options");
                return 1;
            }
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            console.Error(e.Message);
            return 1;
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            // libtorch's message carries its own backtrace after the first line: the first line says what was asked for.
            console.Error($"not enough memory: {e.Message.Split('\n')[0].Trim()}; a smaller model, image, batch or --threads needs less");
            return 1;
        }
    }

    /// <summary>The machine's memory ran out (.NET's, or an allocation libtorch refused): the environment, not a bug.</summary>
    private static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException
        || (e is System.Runtime.InteropServices.ExternalException && e.Message.Contains("can't allocate memory", StringComparison.Ordinal));

    /// <summary>
    /// Errors caused by the input (a bad argument, file or spec) or the environment (a missing provider, a full
    /// disk), reported as their message without a stack trace. Anything else is a bug and keeps its stack trace.
    /// </summary>
    private static bool IsUserError(Exception e) =>
        e is ArgumentException or IOException or InvalidDataException or SpecCompilationException or NotSupportedException or CommandFailedException or Export.ExportCheckException
           or UnauthorizedAccessException or Training.TrainingStoppedException
           or InvalidOperationException { InnerException: Microsoft.ML.OnnxRuntime.OnnxRuntimeException };
}
