namespace Topiary.Serialization;

/// <summary>What <see cref="StateDictImport.LoadInto"/> did.</summary>
/// <param name="Loaded">The module's tensors that were copied from the file, in file order.</param>
/// <param name="Missing">The module's tensors the file lacks, left as they were (only when missing names are ignored).</param>
/// <param name="Unexpected">The file's tensors the module lacks, not read (only when unexpected names are ignored).</param>
public sealed record StateDictImportResult(IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);
