using static TorchSharp.torch;

namespace Topiary.Language;

/// <summary>
/// A corpus as token streams for language modeling. The text is cut into contiguous blocks; the
/// seed draws the validation and the test blocks (up to <see cref="DefaultHeldOutBlocks"/> each, or a
/// tenth of the blocks of a small corpus), and the rest, kept in reading order, is the training stream.
/// Holding out whole blocks rather than single lines keeps held-out text unseen as context too.
/// </summary>
public sealed class LanguageModelingData : IDisposable
{
    /// <summary>Characters per block of the largest corpora.</summary>
    public const int MaxBlockLength = 2048;

    /// <summary>Blocks held out for validation, and again for test: 32 × 2,048 = 65,536 characters each.</summary>
    public const int DefaultHeldOutBlocks = 32;

    private LanguageModelingData(TextCorpus corpus, CharacterTokenizer tokenizer, int blockLength, Tensor train, Tensor validation, Tensor test)
    {
        Corpus = corpus;
        Tokenizer = tokenizer;
        BlockLength = blockLength;
        Train = train;
        Validation = validation;
        Test = test;
    }

    /// <summary>The corpus the streams come from.</summary>
    public TextCorpus Corpus { get; }
    /// <summary>Its tokenizer (built from the whole corpus).</summary>
    public CharacterTokenizer Tokenizer { get; }
    /// <summary>Length in characters of the split blocks.</summary>
    public int BlockLength { get; }
    /// <summary>Training tokens, int64, one dimension.</summary>
    public Tensor Train { get; }
    /// <summary>Validation tokens.</summary>
    public Tensor Validation { get; }
    /// <summary>Test tokens.</summary>
    public Tensor Test { get; }

    /// <summary>
    /// Tokenizes and splits <paramref name="corpus"/>. <paramref name="subset"/> keeps only its first N
    /// characters (before the split). Every split holds at least one window of <paramref name="contextLength"/> + 1 tokens.
    /// </summary>
    /// <exception cref="ArgumentException">The text is too short for three splits of that window.</exception>
    public static LanguageModelingData From(TextCorpus corpus, int seed, int contextLength, int? subset = null, CharacterTokenizer? tokenizer = null)
    {
        var text = subset is { } n && n < corpus.Text.Length ? corpus.Text[..n] : corpus.Text;
        var window = contextLength + 1;
        // Small texts get shorter blocks, so that a tenth of them still makes a held-out split.
        var blockLength = Math.Min(MaxBlockLength, Math.Max(window, text.Length / 32));
        var blocks = (text.Length + blockLength - 1) / blockLength;
        var heldOut = Math.Min(DefaultHeldOutBlocks, Math.Max(1, blocks / 10));
        if (blocks < 2 * heldOut + 1 || text.Length < 3 * window)
            throw new ArgumentException($"the text of {text.Length} characters is too short for training, validation and test windows of {window} characters", nameof(corpus));

        var order = Enumerable.Range(0, blocks).ToArray();
        new Random(seed).Shuffle(order);
        var validationBlocks = order[..heldOut].Order().ToArray();
        var testBlocks = order[heldOut..(2 * heldOut)].Order().ToArray();
        var trainBlocks = order[(2 * heldOut)..].Order().ToArray();

        tokenizer ??= CharacterTokenizer.FromText(corpus.Text);
        var tokens = tokenizer.Encode(text);
        var data = new LanguageModelingData(corpus with { Text = text }, tokenizer, blockLength,
            Stream(tokens, trainBlocks, blockLength), Stream(tokens, validationBlocks, blockLength), Stream(tokens, testBlocks, blockLength));
        // The short last block may have been drawn alone into a held-out split.
        if (new[] { data.Train, data.Validation, data.Test }.Any(s => s.shape[0] < window))
        {
            data.Dispose();
            throw new ArgumentException($"the text of {text.Length} characters is too short for training, validation and test windows of {window} characters", nameof(corpus));
        }
        return data;
    }

    private static Tensor Stream(long[] tokens, int[] blocks, int blockLength)
    {
        var picked = new List<long>(blocks.Length * blockLength);
        foreach (var b in blocks)
        {
            var start = b * blockLength;
            picked.AddRange(tokens.AsSpan(start, Math.Min(blockLength, tokens.Length - start)));
        }
        return tensor(picked.ToArray(), dtype: int64).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
        Test.Dispose();
    }
}
