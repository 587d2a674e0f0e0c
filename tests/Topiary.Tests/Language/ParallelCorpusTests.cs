using Topiary.Language;
using Topiary.Tests.Support;

namespace Topiary.Tests.Language;

/// <summary>A fact skipped, with the reason, when the two Bible modules are not installed.</summary>
internal sealed class BibleModulesFactAttribute : FactAttribute
{
    public BibleModulesFactAttribute()
    {
        if (!Directory.Exists(ParallelCorpus.ReinaValeraDirectory) || !Directory.Exists(CorpusCatalog.WorldEnglishBibleDirectory))
            Skip = "sword-text-sparv or sword-text-web is not installed (scripts/bootstrap.sh installs both)";
    }
}

public class ParallelCorpusTests
{
    private static string Chapter(string book, int n) => $"<chapter n=\"{n}\" osisID=\"{book}.{n}\" sID=\"{book}.{n}\"/>";

    /// <summary>
    /// Two modules whose index layouts differ: the target has an extra book (Tob) between the shared
    /// ones, and one more verse in Gen 2; both have book introductions that are not verses.
    /// </summary>
    private static (string Source, string Target) WriteModules(TestDirectory dir)
    {
        var source = Directory.CreateDirectory(Path.Combine(dir.Path, "src")).FullName;
        var target = Directory.CreateDirectory(Path.Combine(dir.Path, "tgt")).FullName;
        SwordZTextReaderTests.WriteTestament(Path.Combine(source, "ot"),
            [["", "Génesis", Chapter("Gen", 1), "uno uno", "uno dos", Chapter("Gen", 2), "dos uno", "", "Éxodo", Chapter("Exod", 1), "éxodo uno"]]);
        SwordZTextReaderTests.WriteTestament(Path.Combine(target, "ot"),
            [["", "Genesis", Chapter("Gen", 1), "one one", "one two", Chapter("Gen", 2), "two one", "two two", "two three",
              "Tobit", Chapter("Tob", 1), "tobit one", "Exodus", Chapter("Exod", 1), "<w>exodus</w> one"]]);
        return (source, target);
    }

    [Fact]
    public void Pairs_verses_by_book_chapter_and_verse_not_by_index_position()
    {
        using var dir = new TestDirectory();
        var (source, target) = WriteModules(dir);

        var corpus = ParallelCorpus.Load(source, target);

        // Gen 2:2 is empty on the source side, Gen 2:3 and Tob exist only in the target, and the
        // book introductions ("Éxodo", "Exodus") are not verses.
        Assert.Equal(
            new[] { "Gen.1.1 uno uno|one one", "Gen.1.2 uno dos|one two", "Gen.2.1 dos uno|two one", "Exod.1.1 éxodo uno|exodus one" },
            corpus.Pairs.Select(p => $"{p.Key} {p.Source}|{p.Target}"));
    }

    [Fact]
    public void A_module_without_chapter_markers_is_refused_with_its_path()
    {
        using var dir = new TestDirectory();
        SwordZTextReaderTests.WriteTestament(Path.Combine(dir.Path, "ot"), [["just", "verses"]]);
        var e = Assert.Throws<CorpusFormatException>(() => SwordVerseKeys.Read(dir.Path));
        Assert.Contains(dir.Path, e.Message);
    }

    [Fact]
    public void The_split_is_disjoint_complete_and_reproducible_by_seed()
    {
        var pairs = Enumerable.Range(1, 50).Select(v => new VersePair(new VerseKey("Gen", 1, v), $"s{v}", $"t{v}")).ToList();
        var corpus = new ParallelCorpus(pairs);

        var split = corpus.Split(seed: 7, validation: 5, test: 6);
        var again = corpus.Split(seed: 7, validation: 5, test: 6);
        var other = corpus.Split(seed: 8, validation: 5, test: 6);

        Assert.Equal((39, 5, 6), (split.Train.Count, split.Validation.Count, split.Test.Count));
        var all = split.Train.Concat(split.Validation).Concat(split.Test).Select(p => p.Key).ToList();
        Assert.Equal(pairs.Count, all.Distinct().Count());
        Assert.Equal(split.Test, again.Test);
        Assert.Equal(split.Validation, again.Validation);
        Assert.NotEqual(split.Test.Select(p => p.Key), other.Test.Select(p => p.Key));
        Assert.Throws<ArgumentException>(() => corpus.Split(1, 25, 25));
    }

    [BibleModulesFact]
    public void The_installed_Spanish_and_English_Bibles_align_at_known_verses()
    {
        var corpus = ParallelCorpus.SpanishEnglish();
        var byKey = corpus.Pairs.ToDictionary(p => p.Key);

        var genesis = byKey[new VerseKey("Gen", 1, 1)];
        Assert.Equal("EN el principio crió Dios los cielos y la tierra.", genesis.Source);
        Assert.Equal("In the beginning, God created the heavens and the earth.", genesis.Target);
        var john = byKey[new VerseKey("John", 11, 35)];
        Assert.Equal("Y lloró Jesús.", john.Source);
        Assert.Equal("Jesus wept.", john.Target);
        // The KJV-versified Spanish has 31,102 verses; nearly all have an English partner.
        Assert.InRange(corpus.Pairs.Count, 31_000, 31_102);
    }
}
