using System.Text.RegularExpressions;

namespace Topiary.Language;

/// <summary>
/// Names the entries of a SWORD zText module by <see cref="VerseKey"/> without a versification table:
/// osis2mod writes each chapter's heading entry as <c>&lt;chapter osisID="Gen.1" …/&gt;</c>, and the
/// entries after it are verses 1, 2, … of that chapter. The entry just before a chapter 1 heading is
/// the next book's introduction, not a verse, so it is taken back. (Checked on the KJV-versified
/// Reina-Valera 1909: this yields exactly the KJV's 31,102 verses.)
/// </summary>
public static partial class SwordVerseKeys
{
    /// <summary>The verses of the module by key, raw OSIS ("" for an empty verse), in canonical order.</summary>
    /// <exception cref="CorpusFormatException">The module is missing, damaged or has no chapter markers.</exception>
    public static IReadOnlyList<(VerseKey Key, string Osis)> Read(string moduleDirectory)
    {
        var verses = new List<(VerseKey Key, string Osis)>();
        foreach (var testament in SwordZTextReader.ReadTestaments(moduleDirectory))
        {
            (string Book, int Chapter)? chapter = null;
            var verse = 0;
            foreach (var entry in testament)
            {
                var marker = ChapterMarker().Match(entry);
                if (marker.Success)
                {
                    var number = int.Parse(marker.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                    if (number == 1 && chapter is not null && verse > 0) verses.RemoveAt(verses.Count - 1);
                    chapter = (marker.Groups[1].Value, number);
                    verse = 0;
                    continue;
                }
                if (chapter is not { } current) continue; // the testament header and the first book's introduction
                verse++;
                verses.Add((new VerseKey(current.Book, current.Chapter, verse), entry));
            }
        }
        if (verses.Count == 0) throw new CorpusFormatException(moduleDirectory, "no <chapter osisID=…> markers: cannot tell which verse is which");
        return verses;
    }

    [GeneratedRegex("<chapter\\b[^>]*\\bosisID=\"([^\".]+)\\.(\\d{1,4})\"")]
    private static partial Regex ChapterMarker();
}
