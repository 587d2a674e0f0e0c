namespace Topiary.Language;

/// <summary>
/// The English corpora Topiary can read offline. <c>web</c> is the World English Bible (public
/// domain, about 4.9 million characters of plain text), installed by the Debian package
/// <c>sword-text-web</c> as a SWORD zText module. A path to another zText module directory or to a
/// UTF-8 text file is accepted too.
/// </summary>
public static class CorpusCatalog
{
    /// <summary>Name of the default corpus.</summary>
    public const string DefaultName = "web";

    /// <summary>Where <c>sword-text-web</c> installs the World English Bible module.</summary>
    public const string WorldEnglishBibleDirectory = "/usr/share/sword/modules/texts/ztext/engWEB2015eb";

    /// <summary>The Debian package that provides each named corpus.</summary>
    public static IReadOnlyDictionary<string, (string Directory, string DebianPackage)> Known { get; } =
        new Dictionary<string, (string, string)> { ["web"] = (WorldEnglishBibleDirectory, "sword-text-web") };

    /// <summary>
    /// Loads a named corpus, a SWORD zText module directory or a UTF-8 text file.
    /// </summary>
    /// <exception cref="CorpusFormatException">The corpus is not installed, not found, damaged or empty.</exception>
    public static TextCorpus Load(string nameOrPath)
    {
        if (Known.TryGetValue(nameOrPath, out var known))
        {
            if (!Directory.Exists(known.Directory))
                throw new CorpusFormatException(known.Directory, $"corpus '{nameOrPath}' is not installed (apt-get install {known.DebianPackage})");
            return FromSword(nameOrPath, known.Directory);
        }
        if (Directory.Exists(nameOrPath)) return FromSword(Path.GetFileName(Path.TrimEndingDirectorySeparator(nameOrPath)), nameOrPath);
        if (File.Exists(nameOrPath)) return FromTextFile(nameOrPath);
        throw new CorpusFormatException(nameOrPath, $"no such corpus, directory or file (known corpora: {string.Join(", ", Known.Keys)})");
    }

    private static TextCorpus FromSword(string name, string directory)
    {
        var lines = SwordZTextReader.ReadVerses(directory).Select(OsisText.ToPlain).Where(l => l.Length > 0);
        return NonEmpty(new TextCorpus(name, directory, string.Join('\n', lines)));
    }

    private static TextCorpus FromTextFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new CorpusFormatException(path, $"cannot read: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new CorpusFormatException(path, $"cannot read: {e.Message}", e); }
        return NonEmpty(new TextCorpus(Path.GetFileNameWithoutExtension(path), path, text.Replace("\r\n", "\n")));
    }

    private static TextCorpus NonEmpty(TextCorpus corpus) =>
        corpus.Text.Length > 0 ? corpus : throw new CorpusFormatException(corpus.Source, "the corpus holds no text");
}
