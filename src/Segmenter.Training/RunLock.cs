using System;
using System.IO;

namespace Segmenter.Training;

/// <summary>
/// One training run at a time in an output folder: an exclusive lock on <c>OUT/.lock</c>, held while the run goes on.
/// A second run started into the same folder (a command run twice, a scheduler's retry while the first still runs) is
/// refused before it writes anything, rather than mixing its checkpoints and metrics with the first's. The operating
/// system drops the lock when the holder ends, however it ends (kill -9 included), so a killed run can be resumed at once.
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>The lock file's name in the output folder.</summary>
    public const string FileName = ".lock";

    private readonly FileStream stream;

    private RunLock(FileStream stream) => this.stream = stream;

    /// <summary>Takes the lock on <paramref name="outputDirectory"/> (creating the folder); a <see cref="TrainingStoppedException"/> if another run holds it.</summary>
    public static RunLock Acquire(string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        var path = Path.Combine(outputDirectory, FileName);
        try
        {
            // FileShare.None is an exclusive advisory lock (flock on Linux), which another process's open of the file fails on.
            return new RunLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
        {
            throw new TrainingStoppedException($"{outputDirectory} is in use by another training run (it holds {path}); " +
                                               "wait for that run to end, or train into another --out folder");
        }
    }

    /// <summary>Releases the lock (the file stays, empty).</summary>
    public void Dispose() => stream.Dispose();
}
