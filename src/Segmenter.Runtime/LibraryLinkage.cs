using System;
using System.Runtime.InteropServices;

namespace Segmenter.Runtime;

/// <summary>
/// Points a loaded library's calls to one function elsewhere: finds the global-offset-table slot through which the library
/// calls it (its procedure linkage table's jump slot) and writes a new address there, and makes pages of machine code to
/// point at. Linux on x86-64 with glibc's loader only; used by <see cref="MklDispatch"/> and <see cref="TorchExp"/>.
/// </summary>
internal static class LibraryLinkage
{
    /// <summary>
    /// Points <paramref name="library"/>'s calls to <paramref name="symbol"/> at <paramref name="target"/>. False when the
    /// library is not loaded, does not call the symbol through its linkage table, or the slot cannot be written.
    /// </summary>
    public static bool Redirect(string library, string symbol, IntPtr target)
    {
        if (target == IntPtr.Zero) return false;
        var handle = Open(library, RtldLazy | RtldNoLoad);
        if (handle == IntPtr.Zero) return false;
        try
        {
            if (Info(handle, RtldDiLinkMap, out var linkMap) != 0 || linkMap == IntPtr.Zero) return false;
            var slot = FindJumpSlot(linkMap, symbol);
            if (slot == IntPtr.Zero) return false;
            var page = (nint)slot & ~(nint)(PageSize - 1);
            if (Protect(page, PageSize, ProtRead | ProtWrite) != 0) return false;   // .got.plt is writable already unless bound at load (full RELRO)
            Marshal.WriteIntPtr(slot, target);   // one aligned 8-byte store: a concurrent caller sees the old or the new address
            return true;
        }
        finally
        {
            _ = Close(handle);
        }
    }

    /// <summary>Copies <paramref name="code"/> into a page of its own, made executable and read-only; zero on failure.</summary>
    public static IntPtr ExecutablePage(byte[] code)
    {
        if (code.Length > PageSize) throw new ArgumentException("the code must fit in one page", nameof(code));
        var page = Map(IntPtr.Zero, PageSize, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == IntPtr.Zero || page == new IntPtr(-1)) return IntPtr.Zero;
        Marshal.Copy(code, 0, page, code.Length);
        return Protect(page, PageSize, ProtRead | ProtExec) == 0 ? page : IntPtr.Zero;
    }

    /// <summary>The address of the global-offset-table slot through which the library calls <paramref name="symbol"/>, or zero.</summary>
    private static IntPtr FindJumpSlot(IntPtr linkMap, string symbol)
    {
        var bias = Marshal.ReadIntPtr(linkMap);                    // link_map.l_addr
        var dynamic = Marshal.ReadIntPtr(linkMap, 2 * IntPtr.Size); // link_map.l_ld
        long relocations = 0, relocationBytes = 0, symbols = 0, strings = 0, kind = 0;
        for (var entry = dynamic; ; entry += 16)
        {
            var tag = Marshal.ReadInt64(entry);
            if (tag == DtNull) break;
            var value = Marshal.ReadInt64(entry, 8);
            switch (tag)
            {
                case DtJmpRel: relocations = value; break;
                case DtPltRelSize: relocationBytes = value; break;
                case DtSymTab: symbols = value; break;
                case DtStrTab: strings = value; break;
                case DtPltRel: kind = value; break;
            }
        }
        if (relocations == 0 || relocationBytes == 0 || symbols == 0 || strings == 0 || kind != DtRela) return IntPtr.Zero;
        // glibc rewrites these entries to addresses on x86-64; a loader that leaves them as offsets needs the bias added.
        IntPtr Absolute(long address) => address < (long)bias ? bias + (nint)address : (nint)address;
        var table = Absolute(relocations);
        var symbolTable = Absolute(symbols);
        var stringTable = Absolute(strings);
        for (long offset = 0; offset + RelaSize <= relocationBytes; offset += RelaSize)
        {
            var rela = table + (nint)offset;
            var info = Marshal.ReadInt64(rela, 8);
            if ((info & 0xffffffff) != RX8664JumpSlot) continue;
            var sym = symbolTable + (nint)((info >>> 32) * SymSize);
            var name = Marshal.PtrToStringUTF8(stringTable + Marshal.ReadInt32(sym));
            if (name == symbol) return bias + (nint)Marshal.ReadInt64(rela);
        }
        return IntPtr.Zero;
    }

    private const int PageSize = 4096;
    private const int RtldLazy = 0x1, RtldNoLoad = 0x4, RtldDiLinkMap = 2;
    private const int ProtRead = 0x1, ProtWrite = 0x2, ProtExec = 0x4, MapPrivate = 0x2, MapAnonymous = 0x20;
    private const long DtNull = 0, DtPltRelSize = 2, DtStrTab = 5, DtSymTab = 6, DtRela = 7, DtPltRel = 20, DtJmpRel = 23;
    private const long RX8664JumpSlot = 7, RelaSize = 24, SymSize = 24;

    [DllImport("libdl.so.2", EntryPoint = "dlopen")]
    private static extern IntPtr Open(string file, int mode);

    [DllImport("libdl.so.2", EntryPoint = "dlclose")]
    private static extern int Close(IntPtr handle);

    [DllImport("libdl.so.2", EntryPoint = "dlinfo")]
    private static extern int Info(IntPtr handle, int request, out IntPtr result);

    [DllImport("libc", EntryPoint = "mmap")]
    private static extern IntPtr Map(IntPtr address, nint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "mprotect")]
    private static extern int Protect(nint address, nint length, int protection);
}
