// Marks one symbol-version requirement of an ELF shared library as weak, so that the dynamic
// loader accepts the library on a host whose library does not define that version.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so was linked against GCC 13's libstdc++ and asks for
// GLIBCXX_3.4.32, which Debian 12 (GCC 12, up to GLIBCXX_3.4.30) lacks. The only symbol bound to
// that version is never called, so a weak requirement is safe. Setting VER_FLG_WEAK (0x2) in the
// vna_flags of that Elf64_Vernaux entry in .gnu.version_r turns the loader's error into a no-op.
//
// This file is compiled twice: as an MSBuild inline task (build/TorchSharp.Native.targets), and,
// with ELF_PATCH_WITHOUT_TASK defined, into the test project, which checks it on a real library.
using System;
using System.IO;
using System.Text;

/// <summary>The ELF patch itself: pure byte work, no MSBuild.</summary>
public static class ElfVersionPatch
{
    private const uint SectionTypeVersionNeed = 0x6ffffffe; // SHT_GNU_verneed
    private const ushort VersionFlagWeak = 0x2;             // VER_FLG_WEAK

    /// <summary>Patches the file if needed; returns what was done.</summary>
    public static string PatchFile(string path, string version)
    {
        var bytes = File.ReadAllBytes(path);
        var outcome = Patch(bytes, version);
        if (outcome != PatchOutcome.Patched)
            return outcome.ToString();

        // Write beside, then rename: never leave a half-written library, and never write through
        // a hard link into the NuGet cache.
        var temporary = path + ".patching";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Replace(temporary, path, destinationBackupFileName: null);
        }
        finally
        {
            File.Delete(temporary);   // gone after a successful replace; removes a leftover after a failed one
        }
        return outcome.ToString();
    }

    public enum PatchOutcome { Patched, AlreadyWeak, VersionNotRequired }

    /// <summary>Sets VER_FLG_WEAK on every requirement of <paramref name="version"/> in an ELF64 little-endian image.</summary>
    public static PatchOutcome Patch(byte[] image, string version)
    {
        try
        {
            return PatchUnchecked(image, version);
        }
        catch (Exception e) when (e is IndexOutOfRangeException || e is OverflowException || e is ArgumentOutOfRangeException)
        {
            throw new InvalidDataException("a malformed ELF file: its section or version tables point outside the file", e);
        }
    }

    private static PatchOutcome PatchUnchecked(byte[] image, string version)
    {
        if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (image[4] != 2 || image[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        ulong sectionTable = U64(image, 0x28);
        int sectionSize = U16(image, 0x3a);
        int sectionCount = U16(image, 0x3c);
        bool found = false, changed = false;

        for (int s = 0; s < sectionCount; s++)
        {
            int header = checked((int)sectionTable + s * sectionSize);
            if (U32(image, header + 4) != SectionTypeVersionNeed)
                continue;

            int offset = checked((int)U64(image, header + 0x18));
            int link = (int)U32(image, header + 0x28);
            int strings = checked((int)U64(image, checked((int)sectionTable + link * sectionSize) + 0x18));
            int entries = (int)U32(image, header + 0x2c); // sh_info: number of Elf64_Verneed entries

            int need = offset;
            for (int n = 0; n < entries; n++)
            {
                int auxCount = U16(image, need + 2);
                int aux = need + (int)U32(image, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    string name = CString(image, strings + (int)U32(image, aux + 8));
                    if (name == version)
                    {
                        found = true;
                        ushort flags = U16(image, aux + 4);
                        if ((flags & VersionFlagWeak) == 0)
                        {
                            flags |= VersionFlagWeak;
                            image[aux + 4] = (byte)flags;
                            image[aux + 5] = (byte)(flags >> 8);
                            changed = true;
                        }
                    }
                    aux += (int)U32(image, aux + 12);
                }
                need += (int)U32(image, need + 12);
            }
        }

        if (!found) return PatchOutcome.VersionNotRequired;
        return changed ? PatchOutcome.Patched : PatchOutcome.AlreadyWeak;
    }

    /// <summary>True if the file (e.g. the host's libstdc++.so.6) contains the version name as a string.</summary>
    public static bool DefinesVersion(string libraryPath, string version)
    {
        // A plain loop: MSBuild's inline-task compiler offers netstandard only (no spans).
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        var haystack = File.ReadAllBytes(libraryPath);
        for (int i = 1; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack[i - 1] != 0) continue;   // a whole NUL-terminated string
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    private static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
    private static uint U32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
    private static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

    private static string CString(byte[] b, int o)
    {
        int end = o;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, o, end - o);
    }
}

#if !ELF_PATCH_WITHOUT_TASK
/// <summary>The MSBuild task: patches TorchSharp's native library in an output folder unless the host's libstdc++ defines the version.</summary>
public sealed class ElfVersionPatcher : Microsoft.Build.Utilities.Task
{
    /// <summary>The shared libraries to patch in place (each rewritten atomically).</summary>
    [Microsoft.Build.Framework.Required]
    public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

    /// <summary>The version requirement to make weak, e.g. GLIBCXX_3.4.32.</summary>
    [Microsoft.Build.Framework.Required]
    public string Version { get; set; } = "";

    /// <summary>The host's copies of the library that defines the version (libstdc++.so.6); if one defines it, nothing is patched.</summary>
    public Microsoft.Build.Framework.ITaskItem[] HostLibraries { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

    public override bool Execute()
    {
        foreach (var host in HostLibraries)
        {
            if (File.Exists(host.ItemSpec) && ElfVersionPatch.DefinesVersion(host.ItemSpec, Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"{host.ItemSpec} defines {Version}: no patch needed");
                return true;
            }
        }

        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try
            {
                var outcome = ElfVersionPatch.PatchFile(path, Version);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"{path}: {outcome}");
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogError($"{path}: could not mark {Version} weak: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }
}
#endif
