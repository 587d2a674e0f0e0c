namespace Topiary.Language;

/// <summary>
/// Character-level tokenization: one token per UTF-16 character, over the characters of the corpus
/// sorted by code (ordinal). Id 0 is reserved for characters the vocabulary lacks and decodes as U+FFFD,
/// so every text encodes; a text made only of known characters decodes back to itself.
/// </summary>
public sealed class CharacterTokenizer
{
    /// <summary>The character id 0 stands for and decodes as.</summary>
    public const char Unknown = '\uFFFD';

    private readonly Dictionary<char, long> ids;

    /// <summary>Rebuilds a tokenizer from its <see cref="Vocabulary"/> string (as stored in a model file).</summary>
    /// <exception cref="ArgumentException">The string does not start with U+FFFD or repeats a character.</exception>
    public CharacterTokenizer(string vocabulary)
    {
        if (vocabulary.Length == 0 || vocabulary[0] != Unknown) throw new ArgumentException("the vocabulary must start with U+FFFD (the unknown character)", nameof(vocabulary));
        ids = new Dictionary<char, long>(vocabulary.Length);
        for (var i = 0; i < vocabulary.Length; i++)
            if (!ids.TryAdd(vocabulary[i], i)) throw new ArgumentException($"the vocabulary repeats the character U+{(int)vocabulary[i]:X4}", nameof(vocabulary));
        Vocabulary = vocabulary;
    }

    /// <summary>The characters by id, id 0 being U+FFFD.</summary>
    public string Vocabulary { get; }

    /// <summary>Number of ids.</summary>
    public int Size => Vocabulary.Length;

    /// <summary>The vocabulary of every distinct character of <paramref name="text"/>.</summary>
    public static CharacterTokenizer FromText(string text)
    {
        var distinct = text.Distinct().Where(c => c != Unknown).OrderBy(c => c).ToArray();
        return new CharacterTokenizer(Unknown + new string(distinct));
    }

    /// <summary>The ids of the characters of <paramref name="text"/> (0 for unknown ones).</summary>
    public long[] Encode(string text)
    {
        var result = new long[text.Length];
        for (var i = 0; i < text.Length; i++) result[i] = ids.GetValueOrDefault(text[i], 0);
        return result;
    }

    /// <summary>The text of <paramref name="tokens"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<long> tokens) => new(tokens.Select(Character).ToArray());

    private char Character(long id) => id >= 0 && id < Vocabulary.Length
        ? Vocabulary[(int)id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary of {Vocabulary.Length}");
}
