using System.Globalization;
using Topiary.Augmentation;
using Topiary.DataSelection;

namespace Topiary.Cli.Settings;

/// <summary>
/// The data-level regularizers as typed on a command line, <c>NAME[:key=value]...</c>: <c>--augment</c>, a comma-separated
/// list of <c>shift[:pixels=K]</c> (<see cref="RandomShift"/>), <c>flip[:p=P]</c> (<see cref="HorizontalFlip"/>) and
/// <c>cutout[:size=S][:p=P]</c> (<see cref="Cutout"/>) applied in that order (<see cref="AugmentationSequence"/>), and <c>--data-diet el2n|grand[:keep=F][:offset=O][:epochs=E][:runs=K]</c> (<see cref="DataDiet"/>).
/// Each parse returns null with a one-line error naming the flag when the text is not valid.
/// </summary>
internal static class DataLevelArguments
{
    /// <summary>
    /// Cutout's side for 28×28 images: half the side, the ratio of the paper's best square on 32×32 CIFAR-10 (16), whose
    /// ten classes of one centred object are the closer match to Fashion-MNIST than CIFAR-100's hundred (8). Not tuned here.
    /// </summary>
    public const int DefaultCutoutSize = 14;

    /// <summary>The shift's largest offset for 28×28 images: 2 pixels, the 4 of 32×32 CIFAR training scaled down. Not tuned here.</summary>
    public const int DefaultShiftPixels = 2;

    public static IBatchAugmentation? Augmentation(string flag, string text, out string? error) => Parse(flag, text, ParseAugmentation, out error);

    public static DataDiet? Diet(string flag, string text, out string? error) => Parse(flag, text, ParseDiet, out error);

    /// <summary><paramref name="augmentation"/> as the flag would spell it, every parameter given: what a report records.</summary>
    public static string Describe(IBatchAugmentation augmentation) => augmentation switch
    {
        Cutout cutout => $"cutout:size={cutout.Size}:p={Text(cutout.Probability)}",
        RandomShift shift => $"shift:pixels={shift.MaxPixels}",
        HorizontalFlip flip => $"flip:p={Text(flip.Probability)}",
        AugmentationSequence sequence => string.Join(",", sequence.Stages.Select(Describe)),
        _ => throw new ArgumentException($"no spelling for {augmentation.GetType().Name}", nameof(augmentation)),
    };

    /// <summary><paramref name="diet"/> as the flag would spell it, every parameter given: what a report records.</summary>
    public static string Describe(DataDiet diet) =>
        $"{(diet.Score == ExampleScore.El2n ? "el2n" : "grand")}:keep={Text(diet.Keep)}:offset={Text(diet.Offset)}:epochs={diet.Epochs}:runs={diet.Runs}";

    private static T? Parse<T>(string flag, string text, Func<string, T> parse, out string? error) where T : class
    {
        try
        {
            error = null;
            return parse(text);
        }
        catch (FormatException e)
        {
            error = $"{flag}: {e.Message}";
            return null;
        }
    }

    /// <summary>One augmentation, or a sequence of them when the list has several (each named once).</summary>
    private static IBatchAugmentation ParseAugmentation(string text)
    {
        var items = text.Split(',');
        var stages = new List<IBatchAugmentation>();
        foreach (var item in items)
        {
            var name = item.Split(':')[0];
            if (name is not ("shift" or "flip" or "cutout")) throw new FormatException($"unknown name '{name}' (expected one of: shift, flip, cutout)");
            if (items.Count(other => other.Split(':')[0] == name) > 1) throw new FormatException($"'{name}' is given twice");
            stages.Add(name switch
            {
                "shift" => ParseShift(item),
                "flip" => ParseFlip(item),
                _ => ParseCutout(item),
            });
        }
        // A fixed order, whatever the spelling: where the image is, then its orientation, then the square that hides part of it.
        var ordered = stages.OrderBy(stage => stage switch { RandomShift => 0, HorizontalFlip => 1, _ => 2 }).ToList();
        return ordered.Count == 1 ? ordered[0] : new AugmentationSequence(ordered);
    }

    private static RandomShift ParseShift(string text)
    {
        var (_, values) = Spec(text, ["shift"], ["pixels"]);
        var pixels = values.GetValueOrDefault("pixels", DefaultShiftPixels);
        if (pixels < 1 || pixels != Math.Floor(pixels) || pixels > 10_000)
            throw new FormatException($"shift's pixels must be a whole number ≥ 1, got {Text(pixels)}");
        return new RandomShift((int)pixels);
    }

    private static HorizontalFlip ParseFlip(string text)
    {
        var (_, values) = Spec(text, ["flip"], ["p"]);
        var p = values.GetValueOrDefault("p", 0.5);
        if (p is < 0 or > 1) throw new FormatException($"flip's p must be in [0, 1], got {Text(p)}");
        return new HorizontalFlip(p);
    }

    private static Cutout ParseCutout(string text)
    {
        var (_, values) = Spec(text, ["cutout"], ["size", "p"]);
        var size = values.GetValueOrDefault("size", DefaultCutoutSize);
        if (size < 1 || size != Math.Floor(size) || size > 10_000)
            throw new FormatException($"cutout's size must be a whole number of pixels ≥ 1, got {Text(size)}");
        var p = values.GetValueOrDefault("p", 1);
        if (p is < 0 or > 1) throw new FormatException($"cutout's p must be in [0, 1], got {Text(p)}");
        return new Cutout((int)size, p);
    }

    private static DataDiet ParseDiet(string text)
    {
        var (name, values) = Spec(text, ["el2n", "grand"], ["keep", "offset", "epochs", "runs"]);
        var defaults = new DataDiet();
        foreach (var whole in new[] { "epochs", "runs" })
            if (values.TryGetValue(whole, out var v) && (v != Math.Floor(v) || Math.Abs(v) > 1_000_000))
                throw new FormatException($"{whole} must be a whole number, got {Text(v)}");
        var diet = new DataDiet
        {
            Score = name == "el2n" ? ExampleScore.El2n : ExampleScore.GraNd,
            Keep = values.GetValueOrDefault("keep", defaults.Keep),
            Offset = values.GetValueOrDefault("offset", defaults.Offset),
            Epochs = (int)values.GetValueOrDefault("epochs", defaults.Epochs),
            Runs = (int)values.GetValueOrDefault("runs", defaults.Runs),
        };
        try
        {
            return diet.Validated();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new FormatException($"{e.ParamName}: {e.Message.Split(" (Parameter")[0].Split('\n')[0]}");
        }
    }

    /// <summary>The name and <c>key=value</c> numbers of <paramref name="text"/>.</summary>
    private static (string Name, Dictionary<string, double> Values) Spec(string text, string[] names, string[] keys)
    {
        var parts = text.Split(':');
        if (!names.Contains(parts[0])) throw new FormatException($"unknown name '{parts[0]}' (expected one of: {string.Join(", ", names)})");
        var values = new Dictionary<string, double>();
        foreach (var part in parts.Skip(1))
        {
            var pair = part.Split('=', 2);
            if (!keys.Contains(pair[0]))
                throw new FormatException($"unknown parameter '{pair[0]}' of {parts[0]} (expected one of: {string.Join(", ", keys)})");
            if (pair.Length != 2 || !double.TryParse(pair[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                throw new FormatException($"{pair[0]} must be key=number, got '{part}'");
            if (!values.TryAdd(pair[0], value)) throw new FormatException($"{pair[0]} is given twice");
        }
        return (parts[0], values);
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
