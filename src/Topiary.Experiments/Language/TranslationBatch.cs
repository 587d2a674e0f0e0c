using static TorchSharp.torch;

namespace Topiary.Language;

/// <summary>
/// Verse pairs as padded id tensors for teacher-forced training of an encoder-decoder:
/// source = characters + End; decoder input = Begin + characters; decoder target = characters + End,
/// so position t learns to predict target character t from characters before it. Padding in the
/// source is flagged in <see cref="SourcePadding"/>; padded target positions hold −100, the ignore
/// index of cross-entropy. Sequences are cut to <c>maxLength</c> ids.
/// </summary>
public sealed class TranslationBatch : IDisposable
{
    /// <summary>The label cross-entropy skips.</summary>
    public const long IgnoredLabel = -100;

    private TranslationBatch(Tensor source, Tensor sourcePadding, Tensor decoderInput, Tensor decoderTarget)
    {
        Source = source;
        SourcePadding = sourcePadding;
        DecoderInput = decoderInput;
        DecoderTarget = decoderTarget;
    }

    /// <summary>Source ids (batch, S), int64.</summary>
    public Tensor Source { get; }
    /// <summary>True where the source is padding (batch, S).</summary>
    public Tensor SourcePadding { get; }
    /// <summary>Decoder input ids (batch, T).</summary>
    public Tensor DecoderInput { get; }
    /// <summary>Next-character labels (batch, T), <see cref="IgnoredLabel"/> at padding.</summary>
    public Tensor DecoderTarget { get; }

    /// <summary>
    /// Builds the batch of <paramref name="pairs"/> with sequences of at most <paramref name="maxLength"/> ids,
    /// padded to the longest, or with <paramref name="padToMaxLength"/> to <paramref name="maxLength"/> (for <see cref="Models.TransformerTranslationModel.Pack"/>).
    /// </summary>
    public static TranslationBatch From(IReadOnlyList<VersePair> pairs, TranslationVocabulary vocabulary, int maxLength, bool padToMaxLength = false)
    {
        if (pairs.Count == 0) throw new ArgumentException("a batch needs at least one pair", nameof(pairs));
        if (maxLength < 2) throw new ArgumentException($"maxLength must be at least 2, got {maxLength}", nameof(maxLength));
        long[] Cut(string text) => vocabulary.Characters.Encode(text).Take(maxLength - 1).ToArray();
        var sources = pairs.Select(p => Cut(p.Source).Append(vocabulary.End).ToArray()).ToList();
        var targets = pairs.Select(p => Cut(p.Target)).ToList();
        var sourceLength = padToMaxLength ? maxLength : sources.Max(s => s.Length);
        var targetLength = padToMaxLength ? maxLength : targets.Max(t => t.Length) + 1;
        var source = Fill(pairs.Count, sourceLength, vocabulary.End);
        var padding = new bool[pairs.Count * sourceLength];
        var input = Fill(pairs.Count, targetLength, vocabulary.End);
        var target = Fill(pairs.Count, targetLength, IgnoredLabel);
        for (var i = 0; i < pairs.Count; i++)
        {
            sources[i].CopyTo(source, i * sourceLength);
            Array.Fill(padding, true, i * sourceLength + sources[i].Length, sourceLength - sources[i].Length);
            input[i * targetLength] = vocabulary.Begin;
            targets[i].CopyTo(input, i * targetLength + 1);
            targets[i].CopyTo(target, i * targetLength);
            target[i * targetLength + targets[i].Length] = vocabulary.End;
        }
        return new TranslationBatch(
            tensor(source, [pairs.Count, sourceLength]), tensor(padding, [pairs.Count, sourceLength]),
            tensor(input, [pairs.Count, targetLength]), tensor(target, [pairs.Count, targetLength]));
    }

    private static long[] Fill(int rows, int columns, long value)
    {
        var values = new long[rows * columns];
        Array.Fill(values, value);
        return values;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Source.Dispose();
        SourcePadding.Dispose();
        DecoderInput.Dispose();
        DecoderTarget.Dispose();
    }
}
