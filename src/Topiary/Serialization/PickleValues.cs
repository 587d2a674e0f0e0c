namespace Topiary.Serialization;

/// <summary>A Python global named by a pickle (<c>module.name</c>), resolved only against an allow-list, never imported.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    /// <inheritdoc />
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A tensor storage of a <c>.pt</c> file: record <c>data/{Key}</c> holding <paramref name="Elements"/> elements of <paramref name="Type"/>.</summary>
internal sealed record StorageReference(string Key, StoredType Type, long Elements);

/// <summary>
/// A tensor of a <c>.pt</c> file as <c>torch._utils._rebuild_tensor_v2</c> describes it: a strided view of a storage,
/// as the pickle claims; <see cref="Problem"/> says whether it may be read.
/// </summary>
internal sealed record TensorReference(StorageReference Storage, long Offset, long[] Shape, long[] Strides)
{
    /// <summary>
    /// Why the view cannot be read, or null: it must lie inside its storage and have no more elements than it (an
    /// expanded view, strides of 0, could otherwise ask for any amount of memory). Computed step by step against the
    /// storage's size, so no product overflows.
    /// </summary>
    public string? Problem()
    {
        if (Shape.Length > TensorTable.MaxDimensions) return $"has {Shape.Length} dimensions (at most {TensorTable.MaxDimensions})";
        if (Offset < 0 || Offset > Storage.Elements || Shape.Any(d => d < 0) || Strides.Any(s => s < 0))
            return "has a negative size, stride or offset, or an offset past its storage";
        if (Shape.Contains(0)) return null;
        long count = 1, last = Offset;
        for (var i = 0; i < Shape.Length; i++)
        {
            if (count > Storage.Elements / Shape[i]) return "is a view with more elements than its storage";
            count *= Shape[i];
            if (Strides[i] != 0 && Shape[i] - 1 > (Storage.Elements - last) / Strides[i]) return "reaches past the end of its storage";
            last += (Shape[i] - 1) * Strides[i];
        }
        return last < Storage.Elements ? null : "reaches past the end of its storage";
    }
}

/// <summary>
/// A Python dict (or OrderedDict) as a pickle builds it: insertion order kept, a key set again keeps its place and
/// takes the new value. Keys compare by value when they are strings or integers, by identity otherwise.
/// </summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> items = [];
    private readonly Dictionary<object, int> index = [];

    /// <summary>The items in insertion order.</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> Items => items;

    /// <summary>dict[key] = value.</summary>
    public void Set(object? key, object? value)
    {
        if (key is string or long && index.TryGetValue(key, out var at))
        {
            items[at] = KeyValuePair.Create<object?, object?>(key, value);
            return;
        }
        if (key is string or long) index[key] = items.Count;
        items.Add(KeyValuePair.Create<object?, object?>(key, value));
    }
}
