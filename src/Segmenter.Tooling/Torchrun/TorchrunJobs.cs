using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Segmenter.Dsl;
using Segmenter.Dsl.Emit.PyTorch;
using Segmenter.Runtime;

namespace Segmenter.Tooling.Torchrun;

/// <summary>
/// Training on PyTorch's own distributed engine: a job folder with the model emitted as a PyTorch module, a pinned
/// copy of the training package (segmenter_torch), config.json, run.sh with the torchrun line and a SLURM example —
/// which runs on any machine with Python and torch — and running it here. Checkpoints come out in the project's
/// format, so every command takes them as they are.
/// </summary>
public static class TorchrunJobs
{
    private const string PackagePrefix = "segmenter_torch/";

    /// <summary>The variables run.sh takes from the environment when it runs elsewhere.</summary>
    private static readonly string[] ScriptVariables = { "PYTHON", "DATA", "OUT", "NPROC_PER_NODE", "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT" };

    /// <summary>
    /// Writes <c><paramref name="outputDirectory"/>/job</c>: model.py for <paramref name="model"/>, the training package,
    /// config.json, run.sh (starting <c>segmenter_torch.train</c> with <paramref name="trainerArguments"/> under torchrun)
    /// and slurm.sbatch. Paths in the arguments should be absolute (the script may run from anywhere); DATA and OUT can be
    /// overridden by environment variables when the folder is copied to another machine.
    /// </summary>
    public static TorchrunJob Write(CompiledModel model, string dataDirectory, string outputDirectory,
        IReadOnlyList<(string Option, string? Value)> trainerArguments, TorchrunSettings settings, JsonObject? options = null)
    {
        if (settings.ProcessesPerNode < 1) throw new ArgumentException($"--nproc-per-node must be at least 1, got {settings.ProcessesPerNode}");
        if (settings.Nodes < 1) throw new ArgumentException($"--nnodes must be at least 1, got {settings.Nodes}");
        if (settings.NodeRank < 0 || settings.NodeRank >= settings.Nodes)
            throw new ArgumentException($"--node-rank must be between 0 and {settings.Nodes - 1} for {settings.Nodes} node{(settings.Nodes == 1 ? "" : "s")}, got {settings.NodeRank}");
        if (settings.Nodes > 1 && settings.MasterAddress is null)
            throw new ArgumentException("several nodes need the rank-0 node's address: give --master-addr (and --master-port, default 29500)");

        var data = Path.GetFullPath(dataDirectory);
        var output = Path.GetFullPath(outputDirectory);
        var directory = Path.Combine(output, "job");
        Directory.CreateDirectory(directory);

        var modelFile = Path.Combine(directory, "model.py");
        AtomicFile.WriteText(modelFile, PyTorchEmitter.Emit(model));
        WritePackage(Path.Combine(directory, "segmenter_torch"));

        var config = new JsonObject
        {
            ["engine"] = "torchrun",
            ["model"] = model.Spec.Name,
            ["spec"] = JsonNode.Parse(JsonSerializer.Serialize(SpecJson.Full(model.Spec))),
            ["data"] = data,
            ["out"] = output,
            ["torchrun"] = new JsonObject
            {
                ["nprocPerNode"] = settings.ProcessesPerNode,
                ["nnodes"] = settings.Nodes,
                ["nodeRank"] = settings.NodeRank,
                ["masterAddr"] = settings.MasterAddress,
                ["masterPort"] = settings.MasterPort,
                ["python"] = settings.Python,
            },
            ["trainer"] = new JsonObject(trainerArguments.Select(a => KeyValuePair.Create(a.Option.TrimStart('-'), (JsonNode?)(a.Value is null ? JsonValue.Create(true) : JsonValue.Create(a.Value))))),
            ["options"] = options?.DeepClone(),
            ["producer"] = "Segmenter.Dsl " + Version,
        };
        var configFile = Path.Combine(directory, "config.json");
        AtomicFile.WriteText(configFile, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

        var runScript = Path.Combine(directory, "run.sh");
        AtomicFile.WriteText(runScript, RunScript(model, data, output, trainerArguments, settings));
        MakeExecutable(runScript);
        var slurmScript = Path.Combine(directory, "slurm.sbatch");
        AtomicFile.WriteText(slurmScript, SlurmScript(model, directory, settings));
        return new TorchrunJob(directory, runScript, modelFile, configFile, slurmScript);
    }

    /// <summary>
    /// The environment variable naming the output folder whose run lock (<c>OUT/.lock</c>) the process that started the job
    /// holds: the PyTorch engine then does not take it again (it takes it itself when its job runs on its own, from run.sh).
    /// </summary>
    public const string HeldLockVariable = "SEGMENTER_RUN_LOCK";

    /// <summary>
    /// Runs the job's run.sh here with exactly the settings it was written with (variables of the same names in this
    /// process's environment do not override them), passing its output through line by line (torchrun's report of a
    /// failed job shortened: <see cref="TorchrunErrorOutput"/>); returns torchrun's exit code.
    /// <paramref name="lockedFolder"/>: the output folder whose run lock the caller holds for the job.
    /// </summary>
    public static int Run(TorchrunJob job, TextWriter output, TextWriter error, string? lockedFolder = null)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(job.RunScript);
        foreach (var variable in ScriptVariables) info.Environment.Remove(variable);
        if (lockedFolder is not null) info.Environment[HeldLockVariable] = Path.GetFullPath(lockedFolder);
        else info.Environment.Remove(HeldLockVariable);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new IOException("bash did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"cannot start bash to run {job.RunScript}: {e.Message}", e);
        }
        using (process)
        {
            var forwardOutput = Forward(process.StandardOutput, output);
            var forwardError = ForwardErrors(process.StandardError, error);
            process.WaitForExit();
            Task.WaitAll(forwardOutput, forwardError);
            return process.ExitCode;
        }
    }

    /// <summary>The training package's files, as embedded in this assembly (path → text).</summary>
    public static IReadOnlyDictionary<string, string> PackageFiles()
    {
        var assembly = typeof(TorchrunJobs).Assembly;
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(PackagePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            files[name.Substring(PackagePrefix.Length)] = reader.ReadToEnd();
        }
        return files;
    }

    private static void WritePackage(string directory)
    {
        var files = PackageFiles();
        if (files.Count == 0) throw new InvalidOperationException("the training package (segmenter_torch) is not embedded in Segmenter.Tooling");
        Directory.CreateDirectory(directory);
        foreach (var (name, text) in files) AtomicFile.WriteText(Path.Combine(directory, name), text);
    }

    private static string RunScript(CompiledModel model, string data, string output, IReadOnlyList<(string Option, string? Value)> trainerArguments, TorchrunSettings settings)
    {
        var text = new StringBuilder();
        text.Append("#!/usr/bin/env bash\n");
        text.Append($"# Trains {model.Spec.Name} on PyTorch's distributed engine. Written by `segmenter train --engine torchrun` (Segmenter.Dsl {Version});\n");
        text.Append("# runs on any machine with Python and PyTorch, no .NET. Copy this folder anywhere and run it; override with\n");
        text.Append("# PYTHON, DATA, OUT, NPROC_PER_NODE, NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT.\n");
        text.Append("set -euo pipefail\n");
        text.Append("JOB=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\"\n");
        text.Append($"PYTHON=\"${{PYTHON:-{InDoubleQuotes(settings.Python)}}}\"\n");
        text.Append($"DATA=\"${{DATA:-{InDoubleQuotes(data)}}}\"\n");
        text.Append($"OUT=\"${{OUT:-{InDoubleQuotes(output)}}}\"\n");
        text.Append($"NPROC_PER_NODE=\"${{NPROC_PER_NODE:-{settings.ProcessesPerNode}}}\"\n");
        text.Append($"NNODES=\"${{NNODES:-{settings.Nodes}}}\"\n");
        text.Append($"NODE_RANK=\"${{NODE_RANK:-{settings.NodeRank}}}\"\n");
        text.Append($"MASTER_ADDR=\"${{MASTER_ADDR:-{InDoubleQuotes(settings.MasterAddress ?? "127.0.0.1")}}}\"\n");
        text.Append(settings.MasterPort is { } port ? $"MASTER_PORT=\"${{MASTER_PORT:-{port}}}\"\n" : "MASTER_PORT=\"${MASTER_PORT:-}\"\n");
        text.Append("if ! \"$PYTHON\" -c \"import torch\" >/dev/null 2>&1; then\n");
        text.Append("  echo \"error: $PYTHON cannot import torch: set PYTHON to a Python that has PyTorch (and numpy and Pillow)\" >&2\n");
        text.Append("  exit 1\n");
        text.Append("fi\n");
        text.Append("export PYTHONPATH=\"$JOB${PYTHONPATH:+:$PYTHONPATH}\"\n");
        text.Append("mkdir -p \"$OUT/logs\"\n");
        text.Append("# One node without a port: torchrun's standalone rendezvous (a free local port). Otherwise the rank-0 node's address.\n");
        text.Append("if [ \"$NNODES\" = \"1\" ] && [ -z \"$MASTER_PORT\" ]; then\n");
        text.Append("  RENDEZVOUS=(--standalone)\n");
        text.Append("else\n");
        text.Append("  RENDEZVOUS=(--nnodes \"$NNODES\" --node_rank \"$NODE_RANK\" --master_addr \"$MASTER_ADDR\" --master_port \"${MASTER_PORT:-29500}\")\n");
        text.Append("fi\n");
        text.Append("# --redirects/--tee/--log_dir: each rank's standard output also in $OUT/logs/torchrun (torch 1.13's torchrun needs them: its log\n");
        text.Append("# handling fails without, and with --redirects 3 too); errors go to this script's standard error.\n");
        text.Append("exec \"$PYTHON\" -m torch.distributed.run \"${RENDEZVOUS[@]}\" --nproc_per_node \"$NPROC_PER_NODE\" \\\n");
        text.Append("  --redirects 1 --tee 1 --log_dir \"$OUT/logs/torchrun\" \\\n");
        text.Append("  -m segmenter_torch.train --model \"$JOB/model.py\" --data \"$DATA\" --out \"$OUT\"");
        foreach (var (option, value) in trainerArguments)
        {
            text.Append(" \\\n    ").Append(option);
            if (value is not null) text.Append(' ').Append(Quote(value));
        }
        text.Append('\n');
        return text.ToString();
    }

    private static string SlurmScript(CompiledModel model, string directory, TorchrunSettings settings) => $$"""
        #!/bin/bash
        # An example for a SLURM cluster: one torchrun per node, which starts one process per GPU. Edit the resources,
        # DATA and OUT (or export them), then: sbatch slurm.sbatch. The job folder must be on a file system every node sees.
        #SBATCH --job-name=segmenter-{{model.Spec.Name.ToLowerInvariant()}}
        #SBATCH --nodes={{settings.Nodes}}
        #SBATCH --ntasks-per-node=1
        #SBATCH --gpus-per-node={{Math.Max(1, settings.ProcessesPerNode)}}
        #SBATCH --cpus-per-task=16
        #SBATCH --time=48:00:00
        set -euo pipefail
        JOB="${JOB:-{{InDoubleQuotes(directory)}}}"   # this job folder (sbatch runs a copy of this script elsewhere)
        export MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
        export MASTER_PORT="${MASTER_PORT:-29500}"
        export NNODES="$SLURM_NNODES"
        export NPROC_PER_NODE="${SLURM_GPUS_ON_NODE:-{{Math.Max(1, settings.ProcessesPerNode)}}}"
        srun --export=ALL bash -c 'NODE_RANK=$SLURM_NODEID exec bash "$0/run.sh"' "$JOB"

        """;

    private static async Task Forward(StreamReader from, TextWriter to)
    {
        string? line;
        while ((line = await from.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            lock (to) to.WriteLine(line);
        }
    }

    /// <summary>As <see cref="Forward"/>, torchrun's report of a failed job shortened (<see cref="TorchrunErrorOutput"/>).</summary>
    private static async Task ForwardErrors(StreamReader from, TextWriter to)
    {
        var filter = new TorchrunErrorOutput(line =>
        {
            lock (to) to.WriteLine(line);
        });
        string? line;
        while ((line = await from.ReadLineAsync().ConfigureAwait(false)) is not null) filter.Line(line);
        filter.End();
    }

    private static void MakeExecutable(string path)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    /// <summary>A word for bash: as is when it is plainly safe, else single-quoted.</summary>
    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || "/._-:+=,@".Contains(c)) ? value : "'" + value.Replace("'", "'\"'\"'") + "'";

    /// <summary>Text inside bash double quotes, as the default of a <c>${VAR:-…}</c>: \, ", $, ` and } escaped.</summary>
    private static string InDoubleQuotes(string value) =>
        value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("$", "\\$").Replace("`", "\\`").Replace("}", "\\}");

    private static string Version { get; } =
        typeof(TorchrunJobs).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
