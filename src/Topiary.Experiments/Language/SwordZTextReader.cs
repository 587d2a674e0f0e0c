using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Topiary.Language;

/// <summary>
/// Reads the verses of a SWORD "zText" Bible module (the format of Debian's <c>sword-text-*</c>
/// packages, e.g. <c>sword-text-web</c>, the public-domain World English Bible). Each testament
/// (<c>ot</c>, <c>nt</c>) has three files: <c>.bzs</c> lists the zlib-compressed blocks as
/// (offset, compressed size, uncompressed size), 3 × uint32 LE; <c>.bzz</c> holds the blocks;
/// <c>.bzv</c> lists each verse as (block, offset, size), uint32 + uint32 + uint16 LE.
/// Every index is checked against the data, so a damaged module gives a <see cref="CorpusFormatException"/>.
/// </summary>
public static class SwordZTextReader
{
    private const int BlockEntryBytes = 12;
    private const int VerseEntryBytes = 10;

    /// <summary>The raw (OSIS-marked-up) verses of both testaments, in canonical order; empty verses are skipped.</summary>
    public static IReadOnlyList<string> ReadVerses(string moduleDirectory) =>
        ReadTestaments(moduleDirectory).SelectMany(t => t).Where(v => v.Length > 0).ToList();

    /// <summary>
    /// Every index entry of each present testament (ot, then nt), empty ones as "", so that positions
    /// keep SWORD's layout: testament header, then per book an introduction entry and per chapter a
    /// heading entry followed by its verses.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> ReadTestaments(string moduleDirectory)
    {
        if (!Directory.Exists(moduleDirectory)) throw new CorpusFormatException(moduleDirectory, "module directory not found");
        var testaments = new List<IReadOnlyList<string>>();
        foreach (var testament in new[] { "ot", "nt" })
        {
            var prefix = Path.Combine(moduleDirectory, testament);
            if (File.Exists(prefix + ".bzv")) testaments.Add(ReadTestament(prefix).ToList());
        }
        if (testaments.Count == 0) throw new CorpusFormatException(moduleDirectory, "no ot.bzv or nt.bzv: not a SWORD zText module");
        return testaments;
    }

    private static IEnumerable<string> ReadTestament(string prefix)
    {
        var blocks = ReadBlocks(prefix);
        var index = ReadAll(prefix + ".bzv");
        if (index.Length % VerseEntryBytes != 0) throw new CorpusFormatException(prefix + ".bzv", $"length {index.Length} is not a multiple of {VerseEntryBytes}");
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        for (var i = 0; i < index.Length; i += VerseEntryBytes)
        {
            var block = BinaryPrimitives.ReadUInt32LittleEndian(index.AsSpan(i));
            var start = BinaryPrimitives.ReadUInt32LittleEndian(index.AsSpan(i + 4));
            var size = BinaryPrimitives.ReadUInt16LittleEndian(index.AsSpan(i + 8));
            if (size == 0) { yield return ""; continue; }
            if (block >= blocks.Count || (long)start + size > blocks[(int)block].Length)
                throw new CorpusFormatException(prefix + ".bzv", $"verse entry {i / VerseEntryBytes} points outside block {block}");
            string text;
            try { text = utf8.GetString(blocks[(int)block], (int)start, size); }
            catch (DecoderFallbackException e) { throw new CorpusFormatException(prefix + ".bzz", $"verse {i / VerseEntryBytes} is not valid UTF-8", e); }
            yield return text;
        }
    }

    private static List<byte[]> ReadBlocks(string prefix)
    {
        var table = ReadAll(prefix + ".bzs");
        var data = ReadAll(prefix + ".bzz");
        if (table.Length % BlockEntryBytes != 0) throw new CorpusFormatException(prefix + ".bzs", $"length {table.Length} is not a multiple of {BlockEntryBytes}");
        var blocks = new List<byte[]>();
        for (var i = 0; i < table.Length; i += BlockEntryBytes)
        {
            var offset = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i));
            var size = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i + 4));
            var expanded = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(i + 8));
            if ((long)offset + size > data.Length) throw new CorpusFormatException(prefix + ".bzz", $"block {i / BlockEntryBytes} ends past the end of the file");
            // A block holds a few dozen verses; a claimed size far beyond that means a damaged table.
            if (expanded > 64 << 20) throw new CorpusFormatException(prefix + ".bzs", $"block {i / BlockEntryBytes} claims {expanded} bytes");
            blocks.Add(Inflate(prefix + ".bzz", data.AsSpan((int)offset, (int)size).ToArray(), (int)expanded, i / BlockEntryBytes));
        }
        return blocks;
    }

    private static byte[] Inflate(string path, byte[] compressed, int expanded, int block)
    {
        try
        {
            using var input = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
            var output = new byte[expanded];
            input.ReadExactly(output);
            return output;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new CorpusFormatException(path, $"block {block} does not inflate to its {expanded} bytes: {e.Message}", e);
        }
    }

    private static byte[] ReadAll(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new CorpusFormatException(path, "file not found", e); }
        catch (IOException e) { throw new CorpusFormatException(path, $"cannot read: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new CorpusFormatException(path, $"cannot read: {e.Message}", e); }
    }
}
