using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Topiary.Tests.Compatibility;

/// <summary>
/// The public surface of an assembly as sorted text, one line per type and per member, each line complete on its own so
/// that a difference reads without context: <c>Namespace.Type : kind : bases</c> for a type, <c>Namespace.Type :: member</c>
/// for its public and protected constructors, methods, properties, fields and events, with their signatures, nullability,
/// default values and generic constraints. Type names in signatures go without their namespace (a moved type shows in its
/// own line).
/// </summary>
internal static class PublicApi
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>The assembly's public surface, lines sorted ordinally, each ending in a newline.</summary>
    public static string Describe(Assembly assembly)
    {
        var nullability = new NullabilityInfoContext();
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes().Where(t => !IsCompilerGenerated(t)))
        {
            var name = FullName(type);
            lines.Add($"{name} : {Kind(type)}{Bases(type)}");
            if (type.IsEnum)
            {
                foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
                    lines.Add($"{name} :: {field.Name} = {Convert.ToString(field.GetRawConstantValue(), CultureInfo.InvariantCulture)}");
                continue;
            }
            if (typeof(Delegate).IsAssignableFrom(type))
            {
                var invoke = type.GetMethod("Invoke")!;
                lines.Add($"{name} :: {TypeName(invoke.ReturnType, nullability.Create(invoke.ReturnParameter))} Invoke{Parameters(invoke.GetParameters(), nullability)}");
                continue;
            }
            foreach (var member in type.GetMembers(Declared).Where(m => Visible(m, type) && !IsCompilerGenerated(m)))
            {
                var text = member switch
                {
                    ConstructorInfo c => Access(c) + "ctor" + Parameters(c.GetParameters(), nullability),
                    MethodInfo m when !m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal) => Method(m, nullability),
                    PropertyInfo p => Property(p, nullability),
                    FieldInfo f => Field(f, nullability),
                    EventInfo e => $"{Access(e.AddMethod!)}{(e.AddMethod!.IsStatic ? "static " : "")}event {TypeName(e.EventHandlerType!, nullability.Create(e))} {e.Name}",
                    _ => null,
                };
                if (text is not null) lines.Add($"{name} :: {text}");
            }
        }
        lines.Sort(StringComparer.Ordinal);
        var result = new StringBuilder();
        foreach (var line in lines) result.Append(line).Append('\n');
        return result.ToString();
    }

    private static bool Visible(MemberInfo member, Type type)
    {
        bool Reachable(MethodBase? m) => m is not null && (m.IsPublic || (!type.IsSealed && (m.IsFamily || m.IsFamilyOrAssembly)));
        return member switch
        {
            MethodBase m => Reachable(m),
            FieldInfo f => f.IsPublic || (!type.IsSealed && (f.IsFamily || f.IsFamilyOrAssembly)),
            PropertyInfo p => Reachable(p.GetMethod) || Reachable(p.SetMethod),
            EventInfo e => Reachable(e.AddMethod),
            _ => false,
        };
    }

    private static bool IsCompilerGenerated(MemberInfo member) =>
        member.Name.Contains('<') || member.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false) && member is Type;

    private static string Kind(Type type)
    {
        if (type.IsEnum) return "enum";
        if (type.IsInterface) return "interface" + GenericConstraints(type.GetGenericArguments());
        if (typeof(Delegate).IsAssignableFrom(type)) return "delegate";
        var record = type.GetProperty("EqualityContract", BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly) is not null;
        if (type.IsValueType)
            return (type.IsDefined(typeof(IsReadOnlyAttribute)) ? "readonly " : "") + (record ? "record struct" : "struct") + GenericConstraints(type.GetGenericArguments());
        var modifiers = type.IsAbstract && type.IsSealed ? "static " : type.IsAbstract ? "abstract " : type.IsSealed ? "sealed " : "";
        return modifiers + (record ? "record" : "class") + GenericConstraints(type.GetGenericArguments());
    }

    private static string Bases(Type type)
    {
        if (type.IsEnum) return $" : {TypeName(Enum.GetUnderlyingType(type), null)}";
        if (typeof(Delegate).IsAssignableFrom(type)) return "";
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType)) bases.Add(TypeName(b, null));
        bases.AddRange(type.GetInterfaces().Where(i => i.IsVisible).Select(i => TypeName(i, null)).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? "" : " : " + string.Join(", ", bases);
    }

    private static string Access(MethodBase m) => m.IsPublic ? "" : "protected ";

    private static string Modifiers(MethodInfo m)
    {
        var text = Access(m);
        if (m.IsStatic) text += "static ";
        else if (m.IsAbstract && !m.DeclaringType!.IsInterface) text += "abstract ";
        else if (m.GetBaseDefinition() != m) text += m.IsFinal ? "sealed override " : "override ";
        else if (m.IsVirtual && !m.IsFinal && !m.DeclaringType!.IsInterface) text += "virtual ";
        return text;
    }

    private static string Method(MethodInfo m, NullabilityInfoContext nullability)
    {
        var generics = m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "";
        var extension = m.IsDefined(typeof(ExtensionAttribute), inherit: false);
        return $"{Modifiers(m)}{TypeName(m.ReturnType, nullability.Create(m.ReturnParameter))} {m.Name}{generics}"
            + Parameters(m.GetParameters(), nullability, extension) + GenericConstraints(m.GetGenericArguments());
    }

    private static string Property(PropertyInfo p, NullabilityInfoContext nullability)
    {
        // The most visible accessor gives the property's access and modifiers; the other is marked only where it is less visible.
        var accessor = p.GetMethod is { IsPublic: true } || p.SetMethod is not { IsPublic: true } ? p.GetMethod ?? p.SetMethod! : p.SetMethod;
        string Of(MethodInfo m) => m.IsPublic || !accessor.IsPublic ? "" : "protected ";
        var indexer = p.GetIndexParameters();
        var name = indexer.Length == 0 ? p.Name : "this" + Parameters(indexer, nullability).Replace('(', '[').Replace(')', ']');
        var accessors = new List<string>();
        if (p.GetMethod is { } get && (get.IsPublic || get.IsFamily || get.IsFamilyOrAssembly)) accessors.Add(Of(get) + "get;");
        if (p.SetMethod is { } set && (set.IsPublic || set.IsFamily || set.IsFamilyOrAssembly))
            accessors.Add(Of(set) + (set.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)) ? "init;" : "set;"));
        var required = p.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.RequiredMemberAttribute") ? "required " : "";
        return $"{Modifiers(accessor)}{required}{TypeName(p.PropertyType, nullability.Create(p))} {name} {{ {string.Join(" ", accessors)} }}";
    }

    private static string Field(FieldInfo f, NullabilityInfoContext nullability)
    {
        var access = f.IsPublic ? "" : "protected ";
        var type = TypeName(f.FieldType, nullability.Create(f));
        if (f.IsLiteral) return $"{access}const {type} {f.Name} = {Literal(f.GetRawConstantValue(), f.FieldType)}";
        return $"{access}{(f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{type} {f.Name}";
    }

    private static string Parameters(ParameterInfo[] parameters, NullabilityInfoContext nullability, bool extension = false) =>
        "(" + string.Join(", ", parameters.Select((p, i) =>
        {
            var type = p.ParameterType;
            var prefix = i == 0 && extension ? "this " : "";
            if (type.IsByRef)
            {
                prefix += p.IsOut ? "out " : p.IsIn ? "in " : "ref ";
                type = type.GetElementType()!;
            }
            if (p.IsDefined(typeof(ParamArrayAttribute), inherit: false)) prefix += "params ";
            var text = $"{prefix}{TypeName(type, nullability.Create(p))} {p.Name}";
            return p.HasDefaultValue ? $"{text} = {Literal(p.RawDefaultValue, type)}" : text;
        })) + ")";

    private static string GenericConstraints(Type[] arguments)
    {
        var clauses = new List<string>();
        foreach (var argument in arguments.Where(a => a.IsGenericParameter))
        {
            var constraints = new List<string>();
            var flags = argument.GenericParameterAttributes;
            if (flags.HasFlag(GenericParameterAttributes.ReferenceTypeConstraint)) constraints.Add("class");
            if (flags.HasFlag(GenericParameterAttributes.NotNullableValueTypeConstraint)) constraints.Add("struct");
            constraints.AddRange(argument.GetGenericParameterConstraints().Where(c => c != typeof(ValueType)).Select(c => TypeName(c, null)));
            if (flags.HasFlag(GenericParameterAttributes.DefaultConstructorConstraint) && !flags.HasFlag(GenericParameterAttributes.NotNullableValueTypeConstraint))
                constraints.Add("new()");
            if (constraints.Count > 0) clauses.Add($" where {argument.Name} : {string.Join(", ", constraints)}");
        }
        return string.Concat(clauses);
    }

    private static string Literal(object? value, Type type) => value switch
    {
        null => type.IsValueType && Nullable.GetUnderlyingType(type) is null ? "default" : "null",
        string s => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"",
        bool b => b ? "true" : "false",
        char c => $"'{c}'",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        _ when (Nullable.GetUnderlyingType(type) ?? type).IsEnum => $"{TypeName(Nullable.GetUnderlyingType(type) ?? type, null)}.{Enum.ToObject(Nullable.GetUnderlyingType(type) ?? type, value)}",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string FullName(Type type) => (type.Namespace is { } ns ? ns + "." : "") + TypeName(type, null);

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(object)] = "object", [typeof(string)] = "string", [typeof(bool)] = "bool",
        [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(short)] = "short", [typeof(ushort)] = "ushort",
        [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long", [typeof(ulong)] = "ulong",
        [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal", [typeof(char)] = "char",
        [typeof(nint)] = "nint", [typeof(nuint)] = "nuint",
    };

    /// <summary>A type as C# writes it, without its namespace but with its declaring types; <c>?</c> where <paramref name="n"/> says nullable.</summary>
    private static string TypeName(Type type, NullabilityInfo? n)
    {
        if (type.IsGenericParameter) return type.Name + Mark(type, n);
        if (Nullable.GetUnderlyingType(type) is { } underlying) return TypeName(underlying, n?.GenericTypeArguments.FirstOrDefault()) + "?";
        if (type.IsArray) return TypeName(type.GetElementType()!, n?.ElementType) + "[" + new string(',', type.GetArrayRank() - 1) + "]" + Mark(type, n);
        if (type.IsByRef || type.IsPointer) return TypeName(type.GetElementType()!, n?.ElementType) + (type.IsPointer ? "*" : "");
        if (Keywords.TryGetValue(type, out var keyword)) return keyword + Mark(type, n);
        var outer = type.IsNested && !type.IsGenericParameter ? TypeName(type.DeclaringType!.IsGenericTypeDefinition && type.IsConstructedGenericType
            ? type.DeclaringType.MakeGenericType(type.GenericTypeArguments.Take(type.DeclaringType.GetGenericArguments().Length).ToArray())
            : type.DeclaringType!, null) + "." : "";
        var name = type.Name;
        var tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        if (type.IsGenericType)
        {
            var all = type.GetGenericArguments();
            var own = all.Skip(type.IsNested ? type.DeclaringType!.GetGenericArguments().Length : 0).ToArray();
            if (own.Length > 0)
            {
                var offset = all.Length - own.Length;
                name += "<" + string.Join(", ", own.Select((a, i) => TypeName(a, n is not null && n.GenericTypeArguments.Length > offset + i ? n.GenericTypeArguments[offset + i] : null))) + ">";
            }
        }
        return outer + name + Mark(type, n);
    }

    private static string Mark(Type type, NullabilityInfo? n) =>
        n is not null && !type.IsValueType && (n.ReadState == NullabilityState.Nullable || (n.ReadState == NullabilityState.Unknown && n.WriteState == NullabilityState.Nullable)) ? "?" : "";
}
