namespace Topiary.Language;

/// <summary>
/// A verse's canonical reference, as OSIS writes it: book abbreviation, chapter, verse ("Gen.1.1").
/// Two translations that number a verse alike give it the same key, whatever their versification's
/// index layout, so keys — not index positions — align translations.
/// </summary>
/// <param name="Book">OSIS book abbreviation, e.g. "Gen", "3John".</param>
/// <param name="Chapter">Chapter number, from 1.</param>
/// <param name="Verse">Verse number, from 1.</param>
public readonly record struct VerseKey(string Book, int Chapter, int Verse)
{
    /// <summary>The OSIS reference, e.g. "Gen.1.1".</summary>
    public override string ToString() => $"{Book}.{Chapter}.{Verse}";
}
