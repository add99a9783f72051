using System;
using System.Diagnostics;
using System.IO;
using Segmenter.Training;
using Xunit;

namespace Segmenter.Training.Tests;

/// <summary>One training run at a time in an output folder, and the folder free again as soon as its run ends, however it ends.</summary>
public sealed class RunLockTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-runlock-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void A_folder_in_use_is_refused_and_free_again_once_released()
    {
        var output = Path.Combine(folder.FullName, "run");
        using (RunLock.Acquire(output))
        {
            var error = Assert.Throws<TrainingStoppedException>(() => RunLock.Acquire(output));
            Assert.Equal($"{output} is in use by another training run (it holds {Path.Combine(output, RunLock.FileName)}); " +
                         "wait for that run to end, or train into another --out folder", error.Message);
        }
        using (RunLock.Acquire(output)) { }
    }

    /// <summary>
    /// The lock is the operating system's, so another process holding it (here util-linux's flock, which with -o keeps the lock to itself
    /// while its command runs) keeps a run out, and its end lets one in.
    /// </summary>
    [Fact]
    public void Another_process_holding_the_folder_keeps_a_run_out_until_it_ends()
    {
        var output = Path.Combine(folder.FullName, "shared");
        Directory.CreateDirectory(output);
        var start = new ProcessStartInfo("flock", new[] { "-o", Path.Combine(output, RunLock.FileName), "-c", "echo held; read line" })
        {
            RedirectStandardInput = true, RedirectStandardOutput = true,
        };
        using var holder = Process.Start(start)!;
        Assert.Equal("held", holder.StandardOutput.ReadLine());
        Assert.Throws<TrainingStoppedException>(() => RunLock.Acquire(output));
        holder.Kill(entireProcessTree: true);   // as kill -9 would end a run
        holder.WaitForExit();
        using (RunLock.Acquire(output)) { }
    }
}
