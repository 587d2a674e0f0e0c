using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Language;

/// <summary>
/// Generates text from a language model by ancestral sampling: repeatedly draw the next token from
/// softmax(logits/T) given the last context-length tokens. Draws come from a seeded
/// <see cref="Random"/>, so the same model, prompt and seed give the same text.
/// </summary>
public static class TextSampler
{
    /// <summary>
    /// <paramref name="prompt"/> followed by <paramref name="length"/> generated characters.
    /// <paramref name="temperature"/> below 1 sharpens the distribution; 0 picks the most likely token.
    /// </summary>
    public static string Generate(nn.Module<Tensor, Tensor> model, CharacterTokenizer tokenizer, int contextLength, string prompt,
        int length, double temperature, int seed)
    {
        if (temperature < 0 || !double.IsFinite(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be ≥ 0");
        var tokens = tokenizer.Encode(prompt).ToList();
        if (tokens.Count == 0) tokens.Add(tokenizer.Encode("\n").Single());
        var random = new Random(seed);
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            for (var i = 0; i < length; i++)
            {
                using var scope = NewDisposeScope();
                var context = tokens.Skip(Math.Max(0, tokens.Count - contextLength)).ToArray();
                var logits = model.forward(tensor(context, dtype: int64).unsqueeze(0)).select(1, -1).squeeze(0).to(float64);
                tokens.Add(temperature == 0 ? logits.argmax().item<long>() : Draw(logits.div(HeldScalar.Of(temperature)).softmax(0).data<double>().ToArray(), random));
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return tokenizer.Decode(tokens);
    }

    private static long Draw(double[] probabilities, Random random)
    {
        var u = random.NextDouble();
        double cumulative = 0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) return i;
        }
        return probabilities.Length - 1;
    }
}
