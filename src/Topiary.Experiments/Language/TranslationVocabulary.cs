namespace Topiary.Language;

/// <summary>
/// The ids of a character-level translation model: one <see cref="CharacterTokenizer"/> over both
/// languages (so source, target and output head can share one embedding), plus two ids after it:
/// <see cref="Begin"/> starts every decoder input and <see cref="End"/> ends every sequence (and pads).
/// </summary>
public sealed class TranslationVocabulary
{
    /// <summary>Wraps <paramref name="characters"/>; the special ids follow its last id.</summary>
    public TranslationVocabulary(CharacterTokenizer characters) => Characters = characters;

    /// <summary>The vocabulary of the characters of every source and target text of <paramref name="pairs"/>.</summary>
    public static TranslationVocabulary FromPairs(IEnumerable<VersePair> pairs) =>
        new(CharacterTokenizer.FromText(string.Concat(pairs.Select(p => p.Source + p.Target))));

    /// <summary>The character tokenizer.</summary>
    public CharacterTokenizer Characters { get; }
    /// <summary>The begin-of-sequence id, the decoder's first input.</summary>
    public long Begin => Characters.Size;
    /// <summary>The end-of-sequence id.</summary>
    public long End => Characters.Size + 1;
    /// <summary>Number of ids, the model's vocabulary size.</summary>
    public int Size => Characters.Size + 2;

    /// <summary>The text of generated ids, up to (not including) the first <see cref="End"/>; <see cref="Begin"/> is skipped.</summary>
    public string Decode(IEnumerable<long> ids) =>
        Characters.Decode(ids.TakeWhile(id => id != End).Where(id => id != Begin));
}
