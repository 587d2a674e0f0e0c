using System.Reflection;
using System.Text.Json.Nodes;
using static TorchSharp.torch.optim.lr_scheduler;

namespace Topiary.Training;

/// <summary>
/// The position of a TorchSharp learning-rate scheduler, so that a resumed run continues its schedule where it was.
/// TorchSharp's schedulers keep it in non-public fields (<c>_last_epoch</c>, <c>_step_count</c>, <c>_last_lrs</c>, and
/// per kind e.g. ReduceLROnPlateau's best value and patience counter) and offer no state_dict, so this copies every
/// number, flag and list of numbers the scheduler's own classes declare. Delegates (a LambdaLR's function) and the
/// optimizer are left alone: the resumed run constructs them itself.
/// </summary>
internal static class LearningRateScheduleState
{
    private const BindingFlags Fields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>The scheduler's position as JSON: its type and its fields.</summary>
    public static JsonObject Save(LRScheduler scheduler)
    {
        var fields = new JsonObject();
        foreach (var field in StateFields(scheduler.GetType()))
        {
            var value = field.GetValue(scheduler);
            fields[field.Name] = value switch
            {
                null => null,
                int i => i,
                long l => l,
                double d => JsonValue.Create(d),
                float f => JsonValue.Create(f),
                bool b => b,
                IEnumerable<double> list => new JsonArray(list.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                _ => throw new InvalidOperationException($"unexpected field type {field.FieldType.Name}"),
            };
        }
        return new JsonObject { ["type"] = scheduler.GetType().Name, ["fields"] = fields };
    }

    /// <summary>Puts <paramref name="saved"/> (what <see cref="Save"/> returned) back into <paramref name="scheduler"/>.</summary>
    /// <exception cref="ArgumentException">The position is that of another kind of scheduler, or a field is missing.</exception>
    public static void Load(LRScheduler scheduler, JsonObject saved)
    {
        var type = saved["type"]?.GetValue<string>();
        if (type != scheduler.GetType().Name)
            throw new ArgumentException($"the saved learning-rate schedule is a {type ?? "nothing"}, this run's a {scheduler.GetType().Name}");
        if (saved["fields"] is not JsonObject fields) throw new ArgumentException("the saved learning-rate schedule has no fields");
        foreach (var field in StateFields(scheduler.GetType()))
        {
            if (!fields.TryGetPropertyValue(field.Name, out var node))
                throw new ArgumentException($"the saved learning-rate schedule lacks '{field.Name}'");
            field.SetValue(scheduler, Read(field.FieldType, node, field.Name));
        }
    }

    private static object? Read(Type type, JsonNode? node, string name)
    {
        if (node is null) return null;
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(int)) return node.GetValue<int>();
        if (target == typeof(long)) return node.GetValue<long>();
        if (target == typeof(double)) return node.GetValue<double>();
        if (target == typeof(float)) return node.GetValue<float>();
        if (target == typeof(bool)) return node.GetValue<bool>();
        var values = node.AsArray().Select(v => v!.GetValue<double>()).ToList();
        if (target.IsArray) return values.ToArray();
        if (target.IsAssignableFrom(typeof(List<double>))) return values;
        throw new ArgumentException($"cannot restore field '{name}' of type {type.Name}");
    }

    /// <summary>The fields the scheduler's classes (LRScheduler and its subclasses) declare that hold numbers, flags or lists of numbers.</summary>
    private static IEnumerable<FieldInfo> StateFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            foreach (var field in t.GetFields(Fields))
            {
                var f = Nullable.GetUnderlyingType(field.FieldType) ?? field.FieldType;
                if (f.IsPrimitive && f != typeof(IntPtr) || typeof(IEnumerable<double>).IsAssignableFrom(f)) yield return field;
            }
    }
}
