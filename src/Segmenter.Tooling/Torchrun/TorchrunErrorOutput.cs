using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace Segmenter.Tooling.Torchrun;

/// <summary>
/// torchrun's standard error as <c>segmenter train --engine torchrun</c> passes it on, line by line: unchanged, except
/// torchrun's own report of a failed job — the launcher's Python traceback ending in <c>ChildFailedError</c> and the
/// failure table after it, some 40 lines that follow each rank's own error — which becomes one line per failed process:
/// <c>torchrun: rank 0 (local rank 0 on host-a) failed first: exit code 1</c>. A traceback of anything else (a rank's own)
/// passes through whole, and a report in a form not recognised is passed on as it came.
/// </summary>
public sealed class TorchrunErrorOutput
{
    private const string TracebackStart = "Traceback (most recent call last):";
    private const string ChildFailed = "torch.distributed.elastic.multiprocessing.errors.ChildFailedError";

    private static readonly Regex Field = new(@"^\s+(?<name>time|host|rank|exitcode|error_file|traceback)\s*:\s?(?<value>.*)$", RegexOptions.CultureInvariant);

    private readonly Action<string> write;
    private List<string>? traceback;
    private List<string>? table;

    /// <summary>A filter writing what it passes on with <paramref name="write"/>, one line a call.</summary>
    public TorchrunErrorOutput(Action<string> write) => this.write = write;

    /// <summary>The next line of torchrun's standard error.</summary>
    public void Line(string line)
    {
        if (table is not null)
        {
            table.Add(line);
            if (line.StartsWith("=====", StringComparison.Ordinal) && table.FindAll(l => l.StartsWith("=====", StringComparison.Ordinal)).Count == 2)
                EndTable();
            return;
        }
        if (traceback is not null)
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                if (line.StartsWith(ChildFailed, StringComparison.Ordinal))
                {
                    table = new List<string> { line };
                    traceback.Add(line);
                    return;
                }
                Flush(ref traceback);
                if (line != TracebackStart)
                {
                    write(line);
                    return;
                }
                traceback = new List<string>();
            }
            traceback.Add(line);
            return;
        }
        if (line == TracebackStart) traceback = new List<string> { line };
        else write(line);
    }

    /// <summary>The end of the stream: whatever is held back is passed on as it came.</summary>
    public void End()
    {
        if (table is not null)
        {
            Flush(ref traceback);
            Flush(ref table, skipFirst: true);
        }
        Flush(ref traceback);
    }

    private void EndTable()
    {
        var failures = Failures(table!);
        if (failures.Count == 0)
        {
            Flush(ref traceback);
            Flush(ref table, skipFirst: true);
            return;
        }
        traceback = null;
        table = null;
        foreach (var failure in failures) write(failure);
    }

    /// <summary>One line per process in the table (the root cause first), from its rank, host, exit code and traceback fields.</summary>
    private static List<string> Failures(List<string> lines)
    {
        var found = new List<(bool Root, Dictionary<string, string> Fields)>();
        bool root = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("Root Cause", StringComparison.Ordinal)) root = true;
            else if (line.StartsWith("Failures:", StringComparison.Ordinal)) root = false;
            else if (Regex.IsMatch(line, @"^\[\d+\]:")) found.Add((root, new Dictionary<string, string>()));
            else if (found.Count > 0 && !found[^1].Fields.ContainsKey("traceback") && Field.Match(line) is { Success: true } field)
                found[^1].Fields.TryAdd(field.Groups["name"].Value, field.Groups["value"].Value.Trim());   // the traceback field is last, and may run over many lines
        }
        var result = new List<string>();
        foreach (var (isRoot, fields) in found.OrderByDescending(failure => failure.Root))
        {
            if (!fields.TryGetValue("rank", out var rank) || !fields.TryGetValue("exitcode", out var exit)) return new List<string>();
            var ranks = Regex.Match(rank, @"^(?<rank>\d+) \(local_rank: (?<local>\d+)\)");
            var who = ranks.Success ? $"rank {ranks.Groups["rank"].Value} (local rank {ranks.Groups["local"].Value}" : $"rank {rank} (";
            if (fields.TryGetValue("host", out var host)) who += (ranks.Success ? " on " : "on ") + host;
            var code = Regex.Match(exit, @"^-?\d+").Value;
            var how = code.StartsWith('-') && fields.TryGetValue("traceback", out var signal) && signal.StartsWith("Signal", StringComparison.Ordinal)
                ? signal.Split(" received", 2)[0].Replace("Signal", "killed by signal", StringComparison.Ordinal)
                : $"exit code {code}";
            result.Add($"torchrun: {who}) failed{(isRoot ? " first" : "")}: {how}");
        }
        return result;
    }

    private void Flush(ref List<string>? lines, bool skipFirst = false)
    {
        if (lines is null) return;
        for (int i = skipFirst ? 1 : 0; i < lines.Count; i++) write(lines[i]);
        lines = null;
    }
}
