using System.Collections.Generic;
using System.Linq;
using Segmenter.Tooling.Torchrun;
using Xunit;

namespace Segmenter.PyTorch.Tests;

/// <summary>torchrun's report of a failed job (as torch 1.13 and 2.x print it) shortened to a line per process; all else passed on.</summary>
public sealed class TorchrunErrorOutputTests
{
    private const string LauncherTraceback = """
        Traceback (most recent call last):
          File "<frozen runpy>", line 198, in _run_module_as_main
          File "/usr/lib/python3/dist-packages/torch/distributed/run.py", line 762, in main
            run(args)
          File "/usr/lib/python3/dist-packages/torch/distributed/launcher/api.py", line 132, in __call__
            return launch_agent(self._config, self._entrypoint, list(args))
                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
          File "/usr/lib/python3/dist-packages/torch/distributed/launcher/api.py", line 246, in launch_agent
            raise ChildFailedError(
        torch.distributed.elastic.multiprocessing.errors.ChildFailedError: 
        ============================================================
        segmenter_torch.train FAILED
        ------------------------------------------------------------
        Failures:
        [1]:
          time      : 2026-12-05_18:15:40
          host      : node-b
          rank      : 3 (local_rank: 1)
          exitcode  : -15 (pid: 27409)
          error_file: <N/A>
          traceback : Signal 15 (SIGTERM) received by PID 27409
        ------------------------------------------------------------
        Root Cause (first observed failure):
        [0]:
          time      : 2026-12-05_18:15:40
          host      : node-a
          rank      : 0 (local_rank: 0)
          exitcode  : 1 (pid: 27408)
          error_file: <N/A>
          traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
        ============================================================
        """;

    private static List<string> Filter(IEnumerable<string> lines)
    {
        var written = new List<string>();
        var filter = new TorchrunErrorOutput(written.Add);
        foreach (var line in lines) filter.Line(line);
        filter.End();
        return written;
    }

    private static string[] Lines(string text) => text.Split('\n');

    [Fact]
    public void The_launchers_traceback_and_table_become_a_line_per_failed_process()
    {
        var before = new[] { "error: data/images/a.jpg: the JPEG's image data ends before the 72×40 pixels its header claims", "ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: 1) local_rank: 0" };
        var written = Filter(before.Concat(Lines(LauncherTraceback)).Append("after"));
        Assert.Equal(before.Concat(new[]
        {
            "torchrun: rank 0 (local rank 0 on node-a) failed first: exit code 1",
            "torchrun: rank 3 (local rank 1 on node-b) failed: killed by signal 15 (SIGTERM)",
            "after",
        }), written);
    }

    [Fact]
    public void A_failure_with_an_error_file_keeps_its_own_fields_whatever_its_traceback_holds()
    {
        var table = Lines(LauncherTraceback).Take(12).Concat(new[]
        {
            "------------------------------------------------------------",
            "Root Cause (first observed failure):",
            "[0]:",
            "  time      : 2026-12-05_18:15:40",
            "  host      : node-a",
            "  rank      : 2 (local_rank: 0)",
            "  exitcode  : 1 (pid: 27408)",
            "  error_file: /tmp/torchelastic_x/error.json",
            "  traceback : Traceback (most recent call last):",
            "    File \"train.py\", line 40, in main",
            "      rank: int = 0",
            "    exitcode  : 7",
            "  ValueError: a bug",
            "============================================================",
        });
        Assert.Equal(new[] { "torchrun: rank 2 (local rank 0 on node-a) failed first: exit code 1" }, Filter(table));
    }

    [Fact]
    public void A_ranks_own_traceback_passes_whole()
    {
        var own = new[]
        {
            "Traceback (most recent call last):",
            "  File \"train.py\", line 3, in <module>",
            "    1 / 0",
            "ZeroDivisionError: division by zero",
            "Traceback (most recent call last):",
            "  File \"train.py\", line 9, in <module>",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            "  File \"train.py\", line 12",
        };
        Assert.Equal(own, Filter(own));
    }

    [Fact]
    public void A_report_cut_short_or_of_another_form_is_passed_on_as_it_came()
    {
        var lines = Lines(LauncherTraceback);
        var cut = lines.Take(16).ToArray();
        Assert.Equal(cut, Filter(cut));
        var unknown = lines.Select(line => line.Replace("exitcode", "exit_status")).ToArray();
        Assert.Equal(unknown, Filter(unknown));
    }
}
