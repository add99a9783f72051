using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace Segmenter.Tooling;

/// <summary>
/// Reads spec files for the tools: regular files of at most <see cref="MaximumBytes"/>, as UTF-8 (or the encoding a byte
/// order mark names). Bytes that are not UTF-8 become U+FFFD, as in the build, and the compiler reports them (SEGDSL0009).
/// A pipe or a device named like a spec file (a FIFO, a link to /dev/zero) is refused before it is opened, so that
/// reading a folder's spec files can neither wait forever nor fill the memory.
/// </summary>
public static class SpecFiles
{
    /// <summary>The largest spec file read: far above any real spec (the zoo's largest is a few KB).</summary>
    public const int MaximumBytes = 16 << 20;

    /// <summary>The text of the spec file at <paramref name="path"/>; an <see cref="IOException"/> naming it when it is no regular file or too large.</summary>
    public static string Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"spec file '{path}' does not exist", path);
        if (!IsRegularFile(path)) throw new IOException($"{path}: not a regular file (a pipe, a device or a socket); a spec file is a text file");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > MaximumBytes)
            throw new IOException($"{path}: {stream.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes, more than a spec file may hold " +
                                  $"({MaximumBytes.ToString("N0", CultureInfo.InvariantCulture)}); is it a spec file?");
        using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>False only when Linux says the path (links followed) is something other than a regular file.</summary>
    private static bool IsRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux()) return true;
        var buffer = new byte[256];   // struct statx, the same on every Linux architecture
        try
        {
            if (Statx(AtCurrentDirectory, path, 0, StatxType, buffer) != 0) return true;   // opening it will say what is wrong
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return true;   // a C library without statx (glibc before 2.28): no check
        }
        int mode = BitConverter.ToUInt16(buffer, 28);   // stx_mode
        return (mode & 0xF000) == 0x8000;   // S_IFMT, S_IFREG
    }

    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 0x1;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
