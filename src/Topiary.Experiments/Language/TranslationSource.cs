namespace Topiary.Language;

/// <summary>
/// Where a translation run's verse pairs came from and how they were held out: what a saved model records so that
/// <c>topiary eval</c> rebuilds the same test pairs.
/// </summary>
/// <param name="SourceModule">The SWORD module translated from.</param>
/// <param name="TargetModule">The SWORD module translated into.</param>
/// <param name="ValidationPairs">Pairs held out for validation.</param>
/// <param name="TestPairs">Pairs held out for the test.</param>
/// <param name="Subset">The first pairs used, if not all.</param>
public sealed record TranslationSource(string SourceModule, string TargetModule, int ValidationPairs, int TestPairs, int? Subset);
