using System;
using System.IO;

namespace Segmenter.Runtime;

/// <summary>Writes files so that a reader never sees a half-written file and a failure never loses the old one.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, flushes it to disk, then renames it over
    /// <paramref name="path"/>. If the file cannot be made, flushed or put in place, the <see cref="IOException"/> names <paramref name="path"/>
    /// (not the temporary file); whatever fails, the temporary file is removed and an existing file at <paramref name="path"/> is left as it was.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temporary = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var stream = Step(full, "make a file in its folder", () =>
                   {
                       Directory.CreateDirectory(directory);
                       return new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                   }))
            {
                write(stream);
                Step(full, "flush it to disk", () =>
                {
                    stream.Flush(flushToDisk: true);
                    return 0;
                });
            }
            Step(full, "put it in place", () =>
            {
                File.Move(temporary, full, overwrite: true);
                return 0;
            });
        }
        catch
        {
            if (File.Exists(temporary)) File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Runs one step of writing <paramref name="path"/>; an I/O or permission failure becomes an <see cref="IOException"/> naming the file and the step.</summary>
    private static T Step<T>(string path, string step, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write {path}: could not {step} ({e.GetType().Name}: {e.Message})", e);
        }
    }

    /// <summary>Writes <paramref name="text"/> atomically (UTF-8).</summary>
    public static void WriteText(string path, string text) =>
        Write(path, stream =>
        {
            var bytes = new System.Text.UTF8Encoding(false).GetBytes(text);
            stream.Write(bytes);
        });
}
