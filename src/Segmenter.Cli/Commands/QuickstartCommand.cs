using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace Segmenter.Cli.Commands;

/// <summary>
/// <c>segmenter quickstart</c>: the whole workflow on a built-in default, with nothing to download —
/// declare a model in a spec, make a synthetic dataset, train, evaluate, predict, export to ONNX and run it.
/// Each step is the same command a user would type, run in-process.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create(CliConsole console)
    {
        var output = new Option<string>("--out") { Description = "Working folder.", DefaultValueFactory = _ => "quickstart" };
        var iterations = new Option<int>("--iters") { Description = "Training steps.", DefaultValueFactory = _ => 400 }.AtLeast(1, "training needs at least 1 step");
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => Segmenter.Runtime.Devices.Default };
        var command = new Command("quickstart", "Declare, train, evaluate, predict and export a small model on synthetic data (about a minute on 2 idle cores; progress shows the step rate and ETA).") { output, iterations, device };
        command.SetAction(result =>
        {
            var directory = result.GetValue(output)!;
            var deviceName = result.GetValue(device)!;
            Directory.CreateDirectory(directory);
            var clock = Stopwatch.StartNew();

            Step(console, 1, "The zoo: every Table-1 variant of the paper, declared in specs/*.seg and generated at build time");
            Invoke(console, ListCommand.Create(console));

            Step(console, 2, "A model of your own, declared in a spec file");
            var spec = Path.Combine(directory, "quickstart.seg");
            using (var resource = typeof(QuickstartCommand).Assembly.GetManifestResourceStream("Segmenter.Cli.quickstart.seg")!)
            using (var reader = new StreamReader(resource))
                Runtime.AtomicFile.WriteText(spec, reader.ReadToEnd());
            console.Out.WriteLine($"wrote {spec}");
            Invoke(console, CheckCommand.Create(console), spec);
            var model = spec + ":SegQuick";

            Step(console, 3, "A synthetic dataset in the plain folder layout");
            var data = Path.Combine(directory, "data");
            if (File.Exists(Path.Combine(data, "classes.txt")))
                console.Out.WriteLine($"{data} exists: reusing it");
            else
                Invoke(console, MakeDatasetCommand.Create(console), "--out", data, "--layout", "folder", "--train", "200", "--val", "20", "--classes", "5");

            Step(console, 4, "Training with the paper's recipe (SGD + poly schedule, mmsegmentation augmentation)");
            var run = Path.Combine(directory, "run");
            int trained = Invoke(console, TrainCommand.Create(console), model, "--data", data, "--dataset", "folder", "--iters", result.GetValue(iterations).ToString(),
                "--batch", "8", "--lr", "0.01", "--out", run, "--device", deviceName, "--checkpoint-every", "100", "--eval-mode", "slide",
                "--overwrite");   // the quickstart's own run folder: a second quickstart trains it afresh
            if (trained != 0) return trained;
            var checkpoint = Path.Combine(run, "best.safetensors");

            Step(console, 5, "Evaluation with sliding windows (aAcc, mIoU, mAcc)");
            Invoke(console, EvalCommand.Create(console), model, "--checkpoint", checkpoint, "--data", data, "--dataset", "folder", "--mode", "slide", "--device", deviceName);

            Step(console, 6, "Prediction on validation images, ONNX export (verified against the model) and ONNX Runtime inference");
            var images = Directory.GetFiles(Path.Combine(data, "images", "val")).OrderBy(f => f, StringComparer.Ordinal).Take(3).ToArray();
            Invoke(console, PredictCommand.Create(console), new[] { model, "--checkpoint", checkpoint, "--out", Path.Combine(directory, "predictions"), "--mode", "slide", "--device", deviceName, "--image" }.Concat(images).ToArray());
            var onnx = Path.Combine(directory, "segquick.onnx");
            Invoke(console, ExportCommand.Create(console), model, "--checkpoint", checkpoint, "--out", onnx, "--labels");
            Invoke(console, PredictCommand.Create(console), "--onnx", onnx, "--out", Path.Combine(directory, "predictions-onnx"), "--image", images[0]);

            console.Out.WriteLine();
            console.Out.WriteLine($"Done in {clock.Elapsed.TotalMinutes:F1} min. Everything is in {directory}/: the spec, the dataset, checkpoints (run/), " +
                                  "predictions (label and overlay PNGs), and the ONNX model. TensorBoard logs: run/tensorboard.");
            return 0;
        });
        return command;
    }

    private static void Step(CliConsole console, int number, string title)
    {
        console.Out.WriteLine();
        console.Out.WriteLine($"── {number}/6 {title}");
    }

    private static int Invoke(CliConsole console, Command command, params string[] arguments)
    {
        var root = new RootCommand { command };
        int exit = root.Parse(new[] { command.Name }.Concat(arguments).ToArray()).Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Err, EnableDefaultExceptionHandler = false });
        if (exit != 0 && command.Name != "train") throw new CommandFailedException($"quickstart step '{command.Name}' failed (exit code {exit})");
        return exit;
    }
}
