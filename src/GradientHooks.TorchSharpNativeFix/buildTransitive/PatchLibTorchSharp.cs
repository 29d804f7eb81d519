// MSBuild inline task (RoslynCodeTaskFactory): makes TorchSharp's libLibTorchSharp.so load on systems whose
// libstdc++ predates GCC 13 (Debian 12 ships GLIBCXX up to 3.4.30).
//
// TorchSharp 0.107's libLibTorchSharp.so lists GLIBCXX_3.4.32 in its version needs (SHT_GNU_verneed) for one
// symbol, _ZSt21ios_base_library_initv, GCC 13's iostream initialisation marker, which no relocation uses.
// ld.so refuses a library whose needed version is missing unless that Vernaux entry carries VER_FLG_WEAK (0x2),
// in which case a missing version is only a warning under LD_DEBUG. This task sets that one flag on our own
// output copy of the library. The copy is rewritten through a temporary file and a move, so a hard link or a
// symbolic link into the NuGet cache is replaced, never written through.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchLibTorchSharp : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const uint ShtDynsym = 11;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Copies of libLibTorchSharp.so in the output or publish folder.</summary>
    [Required]
    public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The version the library needs and the system lacks.</summary>
    public string MissingVersion { get; set; } = "GLIBCXX_3.4.32";

    /// <summary>The only symbols allowed to carry that version; if any other symbol does, the file is left alone.</summary>
    public string AllowedSymbols { get; set; } = "_ZSt21ios_base_library_initv";

    public override bool Execute()
    {
        foreach (var item in Libraries)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                var outcome = Patch(bytes);
                if (outcome == null)
                {
                    var temp = path + ".weakpatch.tmp";
                    File.WriteAllBytes(temp, bytes);
                    File.Delete(path); // unlinks our copy only; a hard-linked original keeps its bytes
                    File.Move(temp, path);
                    Log.LogMessage(MessageImportance.High,
                        $"TorchSharp native fix: marked {MissingVersion} as a weak version need in {path}");
                }
                else
                {
                    Log.LogMessage(MessageImportance.Normal, $"TorchSharp native fix: {path}: {outcome}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                Log.LogWarning($"TorchSharp native fix: could not patch {path}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// <summary>Returns null when the buffer was patched, else the reason it was left unchanged.</summary>
    private string Patch(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            return "not an ELF file";
        if (elf[4] != 2 || elf[5] != 1)
            return "not a little-endian ELF64 file";

        ulong shoff = U64(elf, 0x28);
        int shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
        (ulong Offset, ulong Size, uint Link, ulong EntSize)? verneed = null, versym = null, dynsym = null;
        var sections = new List<(uint Type, ulong Offset, ulong Size, uint Link, ulong EntSize)>();
        for (int i = 0; i < shnum; i++)
        {
            int h = checked((int)shoff + i * shentsize);
            var s = (Type: U32(elf, h + 4), Offset: U64(elf, h + 0x18), Size: U64(elf, h + 0x20),
                     Link: U32(elf, h + 0x28), EntSize: U64(elf, h + 0x38));
            sections.Add(s);
            if (s.Type == ShtGnuVerneed) verneed = (s.Offset, s.Size, s.Link, s.EntSize);
            if (s.Type == ShtGnuVersym) versym = (s.Offset, s.Size, s.Link, s.EntSize);
            if (s.Type == ShtDynsym) dynsym = (s.Offset, s.Size, s.Link, s.EntSize);
        }
        if (verneed == null || versym == null || dynsym == null) return "no symbol version sections";
        ulong strtab = sections[(int)verneed.Value.Link].Offset;

        // Walk Verneed -> Vernaux looking for the missing version.
        int vn = (int)verneed.Value.Offset;
        int auxAt = -1; ushort versionIndex = 0;
        while (true)
        {
            int cnt = U16(elf, vn + 2); int aux = vn + (int)U32(elf, vn + 8);
            for (int a = 0; a < cnt; a++)
            {
                if (Str(elf, strtab + U32(elf, aux + 8)) == MissingVersion)
                {
                    auxAt = aux; versionIndex = (ushort)(U16(elf, aux + 6) & 0x7fff);
                }
                uint next = U32(elf, aux + 12); if (next == 0) break; aux += (int)next;
            }
            uint vnNext = U32(elf, vn + 12); if (vnNext == 0) break; vn += (int)vnNext;
        }
        if (auxAt < 0) return $"does not need {MissingVersion}";
        if ((U16(elf, auxAt + 4) & VerFlgWeak) != 0) return "already patched";

        // Refuse to patch if a symbol outside the allow-list carries this version: it could really be used.
        var allowed = new HashSet<string>(AllowedSymbols.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries));
        ulong dynstr = sections[(int)dynsym.Value.Link].Offset;
        int count = (int)(dynsym.Value.Size / dynsym.Value.EntSize);
        for (int i = 0; i < count; i++)
        {
            if ((U16(elf, (int)versym.Value.Offset + 2 * i) & 0x7fff) != versionIndex) continue;
            string name = Str(elf, dynstr + U32(elf, (int)(dynsym.Value.Offset + (ulong)i * dynsym.Value.EntSize)));
            if (!allowed.Contains(name)) return $"symbol {name} needs {MissingVersion}; left unchanged";
        }

        ushort flags = (ushort)(U16(elf, auxAt + 4) | VerFlgWeak);
        elf[auxAt + 4] = (byte)flags; elf[auxAt + 5] = (byte)(flags >> 8);
        return null;
    }

    private static ushort U16(byte[] b, int o) => BitConverter.ToUInt16(b, o);
    private static uint U32(byte[] b, int o) => BitConverter.ToUInt32(b, o);
    private static ulong U64(byte[] b, int o) => BitConverter.ToUInt64(b, o);
    private static string Str(byte[] b, ulong o)
    {
        int start = checked((int)o), end = start;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, start, end - start);
    }
}
