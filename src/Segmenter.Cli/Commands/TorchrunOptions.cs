using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Segmenter.Tooling;
using Segmenter.Tooling.Torchrun;

namespace Segmenter.Cli.Commands;

/// <summary>The options of <c>train --engine torchrun</c>: where and how torchrun starts PyTorch's engine.</summary>
internal sealed class TorchrunOptions
{
    public Option<int> ProcessesPerNode { get; } = new("--nproc-per-node") { Description = "torchrun: processes on this machine, one per GPU (gloo processes on CPUs).", DefaultValueFactory = _ => 1 };

    public Option<int> Nodes { get; } = new("--nnodes") { Description = "torchrun: machines in the job.", DefaultValueFactory = _ => 1 };

    public Option<int> NodeRank { get; } = new("--node-rank") { Description = "torchrun: this machine's rank.", DefaultValueFactory = _ => 0 };

    public Option<string?> MasterAddress { get; } = new("--master-addr") { Description = "torchrun: the rank-0 machine's address (several machines)." };

    public Option<int?> MasterPort { get; } = new("--master-port") { Description = "torchrun: the rank-0 machine's port (default 29500 on several machines, a free one on one)." };

    public Option<string> Amp { get; } = new("--amp") { Description = "torchrun: mixed precision off, bf16 or fp16 (fp16 with a gradient scaler; bf16 also on CPUs).", DefaultValueFactory = _ => "off" };

    public Option<string> Strategy { get; } = new("--strategy") { Description = "torchrun: ddp or fsdp (torch 2 and later).", DefaultValueFactory = _ => "ddp" };

    public Option<string> Python { get; } = new("--python") { Description = "torchrun: the Python interpreter that has torch.", DefaultValueFactory = _ => "python3" };

    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "torchrun: only write the job folder OUT/job (to copy to a machine without .NET)." };

    private IEnumerable<Option> All => new Option[] { ProcessesPerNode, Nodes, NodeRank, MasterAddress, MasterPort, Amp, Strategy, Python, DryRun };

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <summary>Refuses torchrun-only options given with the TorchSharp engine, saying why.</summary>
    public void RefuseWithTorchSharp(ParseResult result)
    {
        var given = All.Where(o => result.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
        if (given.Count > 0)
            throw new ArgumentException($"{string.Join(", ", given)} {(given.Count == 1 ? "is an option" : "are options")} of --engine torchrun; " +
                                        "the TorchSharp engine trains in this process on one device, in float32");
    }

    /// <summary>Writes the job folder and, unless --dry-run, runs torchrun here; returns the exit code.</summary>
    public int Run(ParseResult result, CliConsole console, string modelArgument, string data, string output, IReadOnlyList<(string Option, string? Value)> trainer)
    {
        var amp = result.GetValue(Amp)!.Trim().ToLowerInvariant();
        if (amp is not ("off" or "bf16" or "fp16")) throw new ArgumentException($"--amp '{result.GetValue(Amp)}': use off, bf16 or fp16");
        var strategy = result.GetValue(Strategy)!.Trim().ToLowerInvariant();
        if (strategy is not ("ddp" or "fsdp")) throw new ArgumentException($"--strategy '{result.GetValue(Strategy)}': use ddp or fsdp");
        if (!Directory.Exists(data)) throw new DirectoryNotFoundException($"dataset folder '{data}' does not exist");
        var settings = new TorchrunSettings
        {
            ProcessesPerNode = result.GetValue(ProcessesPerNode),
            Nodes = result.GetValue(Nodes),
            NodeRank = result.GetValue(NodeRank),
            MasterAddress = result.GetValue(MasterAddress),
            MasterPort = result.GetValue(MasterPort),
            Python = result.GetValue(Python)!,
        };
        var arguments = trainer.Append(("--amp", amp)).Append(("--strategy", strategy)).ToList();
        var model = ModelResolver.ResolveCompiled(modelArgument);
        var options = new JsonObject { ["modelArgument"] = modelArgument, ["dryRun"] = result.GetValue(DryRun) };
        var job = TorchrunJobs.Write(model, data, output, arguments, settings, options);
        console.Out.WriteLine($"job folder {job.Directory}: run.sh, model.py ({model.Spec.Name} as a PyTorch module), segmenter_torch/, config.json, slurm.sbatch");
        if (result.GetValue(DryRun))
        {
            console.Out.WriteLine($"run it with: bash {job.RunScript}   (on another machine: copy the folder, set DATA and OUT, and PYTHON to a Python with torch)");
            return 0;
        }
        console.Out.WriteLine($"running torchrun: {settings.ProcessesPerNode} process{(settings.ProcessesPerNode == 1 ? "" : "es")} on this node, {settings.Nodes} node{(settings.Nodes == 1 ? "" : "s")}, {settings.Python}");
        // Ctrl-C reaches torchrun and every rank from the terminal: they finish the step and write the checkpoint. This
        // process stays to pass their output through and say how to continue.
        bool interrupted = false;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            interrupted = true;
        };
        Console.CancelKeyPress += onCancel;
        int exit;
        try
        {
            exit = TorchrunJobs.Run(job, console.Out, console.Err, lockedFolder: output);   // train holds OUT/.lock around this
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        var last = Path.Combine(Path.GetFullPath(output), "last.safetensors");
        if (interrupted)
        {
            console.Out.WriteLine($"interrupted; continue with: segmenter train … --engine torchrun --resume {last}");
            return 130;
        }
        if (exit != 0)
        {
            var logs = Path.Combine(Path.GetFullPath(output), "logs", "torchrun");
            throw new CommandFailedException($"torchrun exited with code {exit}; its errors are above" + (Directory.Exists(logs) ? $", and each rank's standard output is in {logs}" : ""));
        }
        console.Out.WriteLine($"done: {last} (the project's format: segmenter eval, export and predict take it as it is)");
        return 0;
    }
}
