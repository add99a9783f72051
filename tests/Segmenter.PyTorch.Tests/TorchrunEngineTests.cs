using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Segmenter.Cli;
using Xunit;

namespace Segmenter.PyTorch.Tests;

/// <summary>
/// <c>segmenter train --engine torchrun</c>: the job folder, torchrun with two gloo processes on a synthetic dataset,
/// and the checkpoint it writes taken as it is by <c>segmenter eval</c> and <c>segmenter export</c>.
/// </summary>
public sealed class TorchrunEngineTests : IDisposable
{
    private const string Spec = "backbone Micro { layers = 2 width = 64 heads = 2 }\n" +
                                "model MicroSeg { backbone = Micro patch = 8 image = 48 classes = 4 drop_path = 0.0 }\n";

    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-torchrun-");
    private readonly string spec;
    private readonly string data;

    public TorchrunEngineTests()
    {
        spec = Path.Combine(temporary.FullName, "micro.seg");
        File.WriteAllText(spec, Spec);
        data = Path.Combine(temporary.FullName, "data");
        Cli("make-dataset", "--out", data, "--classes", "4", "--train", "24", "--val", "6", "--min-size", "48", "--max-size", "72");
    }

    public void Dispose() => temporary.Delete(recursive: true);

    [SkippableFact]
    public void Two_processes_train_a_model_that_eval_and_export_take_as_it_is()
    {
        PythonTorch.RequireOrSkip();
        var run = Path.Combine(temporary.FullName, "run");
        var trained = Cli("train", spec, "--data", data, "--dataset", "folder", "--engine", "torchrun", "--nproc-per-node", "2",
            "--python", PythonTorch.Python, "--iters", "60", "--batch", "8", "--lr", "0.01", "--checkpoint-every", "30", "--device", "cpu", "--out", run);
        Assert.Contains("running torchrun: 2 processes", trained);
        Assert.True(File.Exists(Path.Combine(run, "last.safetensors")));
        Assert.True(Directory.GetFiles(Path.Combine(run, "logs", "torchrun"), "*", SearchOption.AllDirectories).Length >= 2, "each rank's log");

        var metrics = JsonDocument.Parse(Cli("eval", spec, "--checkpoint", Path.Combine(run, "last.safetensors"), "--data", data, "--dataset", "folder", "--json")).RootElement;
        double miou = metrics.GetProperty("mIoU").GetDouble();
        Assert.True(miou > 50, $"mIoU {miou:F2} after 60 steps on the synthetic scenes (a clear result is above 50)");

        var exported = Cli("export", spec, "--checkpoint", Path.Combine(run, "last.safetensors"), "--out", Path.Combine(temporary.FullName, "micro.onnx"));
        Assert.Contains("verified input", exported);
    }

    [SkippableFact]
    public void The_job_folder_runs_elsewhere_with_its_run_script_alone()
    {
        PythonTorch.RequireOrSkip();
        var written = Path.Combine(temporary.FullName, "written");
        var dry = Cli("train", spec, "--data", data, "--dataset", "folder", "--engine", "torchrun", "--nproc-per-node", "2", "--python", PythonTorch.Python,
            "--iters", "6", "--batch", "4", "--val-split", "none", "--device", "cpu", "--out", written, "--dry-run");
        Assert.Contains("run it with: bash", dry);
        var job = Path.Combine(written, "job");
        Assert.False(File.Exists(Path.Combine(written, "last.safetensors")), "--dry-run trains nothing");
        foreach (var file in new[] { "run.sh", "model.py", "config.json", "slurm.sbatch", "segmenter_torch/train.py", "segmenter_torch/checkpoint.py" })
            Assert.True(File.Exists(Path.Combine(job, file)), $"the job folder lacks {file}");
        var script = File.ReadAllText(Path.Combine(job, "run.sh"));
        Assert.Contains("-m torch.distributed.run", script);
        Assert.Contains("-m segmenter_torch.train", script);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(job, "config.json"))).RootElement;
        Assert.Equal(2, config.GetProperty("torchrun").GetProperty("nprocPerNode").GetInt32());
        Assert.Equal("6", config.GetProperty("trainer").GetProperty("iters").GetString());

        // Copied to another place and run there by bash alone, with DATA and OUT given by the environment.
        var copy = Path.Combine(temporary.FullName, "elsewhere", "job");
        CopyDirectory(job, copy);
        var output = Path.Combine(temporary.FullName, "elsewhere", "out");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = temporary.FullName };
        info.ArgumentList.Add(Path.Combine(copy, "run.sh"));
        info.Environment["DATA"] = data;
        info.Environment["OUT"] = output;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), "run.sh did not finish in 5 minutes");
        Assert.True(process.ExitCode == 0, $"run.sh failed (exit {process.ExitCode}):\n{stdout.Result}{stderr.Result}");
        Assert.True(File.Exists(Path.Combine(output, "last.safetensors")), "the copied job wrote its checkpoint to OUT");
        Assert.Contains("\"spec_json\"", File.ReadAllText(Path.Combine(output, "last.safetensors")).Substring(0, 4096));
    }

    /// <summary>
    /// A job whose ranks stop on a user error (every training image a JPEG cut short): each rank's error is one line, and
    /// torchrun's own report of the failure — its launcher's traceback and failure table — a line per failed process.
    /// </summary>
    [SkippableFact]
    public void A_failed_job_reports_one_line_per_error_and_per_failed_process()
    {
        PythonTorch.RequireOrSkip();
        var damaged = Path.Combine(temporary.FullName, "damaged");
        CopyDirectory(data, damaged);
        foreach (var png in Directory.GetFiles(Path.Combine(damaged, "images", "train"), "*.png"))
        {
            var jpeg = Path.ChangeExtension(png, ".jpg");
            Segmenter.Inference.Imaging.ImageFiles.WriteJpeg(jpeg, Segmenter.Inference.Imaging.ImageFiles.ReadRgb(png));
            File.Delete(png);
            var bytes = File.ReadAllBytes(jpeg);
            int scan = Enumerable.Range(0, bytes.Length - 1).Last(i => bytes[i] == 0xFF && bytes[i + 1] == 0xDA);
            File.WriteAllBytes(jpeg, bytes[..((scan + bytes.Length) / 2)].Concat(new byte[] { 0xFF, 0xD9 }).ToArray());
        }
        var (exit, _, error) = Run("train", spec, "--data", damaged, "--dataset", "folder", "--engine", "torchrun", "--nproc-per-node", "2",
            "--python", PythonTorch.Python, "--iters", "4", "--batch", "4", "--val-split", "none", "--device", "cpu", "--out", Path.Combine(temporary.FullName, "failed"));
        Assert.Equal(1, exit);
        Assert.Matches(@"(?m)^error: \S+\.jpg: the JPEG's image data ends before the \d+×\d+ pixels its header claims", error);
        Assert.Matches(@"(?m)^torchrun: rank [01] \(local rank [01] on \S+\) failed first: exit code 1$", error);
        Assert.DoesNotContain("Traceback", error);
        Assert.DoesNotContain("ChildFailedError", error);
        Assert.Contains("error: torchrun exited with code 1; its errors are above", error);
    }

    [Fact]
    public void Torchrun_options_are_refused_with_the_TorchSharp_engine()
    {
        var (exit, _, error) = Run("train", spec, "--data", data, "--dataset", "folder", "--amp", "bf16", "--iters", "1");
        Assert.Equal(1, exit);
        Assert.Contains("--amp is an option of --engine torchrun", error);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(directory.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories).Where(f => !f.Contains("__pycache__")))
            File.Copy(file, file.Replace(from, to));
    }

    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static string Cli(params string[] args)
    {
        var (exit, output, error) = Run(args);
        Assert.True(exit == 0, $"segmenter {string.Join(" ", args)} failed (exit {exit}):\n{output}\n{error}");
        return output;
    }
}
