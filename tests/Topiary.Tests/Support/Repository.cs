namespace Topiary.Tests.Support;

/// <summary>The source tree the test binaries were built from: the first folder above them that holds <c>Topiary.slnx</c>.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Topiary.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Topiary.slnx above {AppContext.BaseDirectory}: the tests run from outside the repository");
    });

    /// <summary>The repository's root folder.</summary>
    public static string Root => RootPath.Value;

    /// <summary>A path inside the repository.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
