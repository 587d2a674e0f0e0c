using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Topiary.Language;
using Topiary.Tests.Support;

namespace Topiary.Tests.Language;

public class SwordZTextReaderTests
{
    /// <summary>Writes a zText testament: two zlib blocks holding the verses, an empty verse between them.</summary>
    internal static void WriteTestament(string prefix, string[][] blocks)
    {
        using var bzs = new MemoryStream();
        using var bzz = new MemoryStream();
        using var bzv = new MemoryStream();
        var buffer = new byte[12];
        for (var b = 0; b < blocks.Length; b++)
        {
            var raw = new MemoryStream();
            foreach (var verse in blocks[b])
            {
                var bytes = Encoding.UTF8.GetBytes(verse);
                BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)b);
                BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), (uint)raw.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(8), (ushort)bytes.Length);
                bzv.Write(buffer, 0, 10);
                raw.Write(bytes);
            }
            var compressed = new MemoryStream();
            using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw.ToArray());
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)bzz.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), (uint)compressed.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(8), (uint)raw.Length);
            bzs.Write(buffer, 0, 12);
            bzz.Write(compressed.ToArray());
        }
        File.WriteAllBytes(prefix + ".bzs", bzs.ToArray());
        File.WriteAllBytes(prefix + ".bzz", bzz.ToArray());
        File.WriteAllBytes(prefix + ".bzv", bzv.ToArray());
    }

    [Fact]
    public void Reads_verses_of_both_testaments_in_order_and_strips_the_markup()
    {
        using var dir = new TestDirectory();
        WriteTestament(Path.Combine(dir.Path, "ot"), [["<w lemma=\"x\">In</w> the beginning,", ""], ["God &amp; the <note>a footnote</note>earth."]]);
        WriteTestament(Path.Combine(dir.Path, "nt"), [["Jesus   wept."]]);

        var verses = SwordZTextReader.ReadVerses(dir.Path);
        Assert.Equal(new[] { "<w lemma=\"x\">In</w> the beginning,", "God &amp; the <note>a footnote</note>earth.", "Jesus   wept." }, verses);
        Assert.Equal("In the beginning,\nGod & the earth.\nJesus wept.", CorpusCatalog.Load(dir.Path).Text);
    }

    [Fact]
    public void A_damaged_module_names_the_file()
    {
        using var dir = new TestDirectory();
        var prefix = Path.Combine(dir.Path, "ot");
        WriteTestament(prefix, [["one verse"]]);
        var index = File.ReadAllBytes(prefix + ".bzv");
        BinaryPrimitives.WriteUInt32LittleEndian(index, 7); // a block that does not exist
        File.WriteAllBytes(prefix + ".bzv", index);
        var e = Assert.Throws<CorpusFormatException>(() => SwordZTextReader.ReadVerses(dir.Path));
        Assert.EndsWith("ot.bzv", e.Path);

        WriteTestament(prefix, [["one verse"]]);
        File.WriteAllBytes(prefix + ".bzz", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 });
        Assert.Throws<CorpusFormatException>(() => SwordZTextReader.ReadVerses(dir.Path));
        Assert.Throws<CorpusFormatException>(() => CorpusCatalog.Load(Path.Combine(dir.Path, "missing")));
    }
}
