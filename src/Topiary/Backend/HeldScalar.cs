using TorchSharp;

namespace Topiary.Backend;

/// <summary>
/// Scalars for TorchSharp calls that outlive the call. TorchSharp 0.107 passes a <see cref="Scalar"/> argument's native
/// handle to libtorch without keeping the object alive, so the temporary that an implicit conversion creates
/// (<c>x.mul_(0.5)</c>) can be finalized, and its native value freed, while libtorch still reads it: "Unknown scalar
/// type" or "Expected false to be true … toFloat" at random, under load (seen in a test run and in a sweep cell).
/// <see cref="Of(double)"/> makes the Scalar and keeps it in a per-thread ring of the last <see cref="Held"/> ones, so it
/// lives until long after the call that uses it has returned (a thread makes no further Scalar while it waits in
/// libtorch), and disposes it when the ring comes round, so none waits for the finalizer. Only for call arguments: a
/// Scalar kept in a variable beyond the call must be owned by its holder (<c>using var s = v.ToScalar()</c>). The test
/// <c>ImplicitScalarTests</c> finds any implicit conversion left in the libraries.
/// </summary>
internal static class HeldScalar
{
    /// <summary>How many Scalars each thread keeps alive.</summary>
    public const int Held = 256;

    [ThreadStatic] private static Scalar?[]? ring;
    [ThreadStatic] private static int next;

    public static Scalar Of(double value) => Keep(value.ToScalar());
    public static Scalar Of(float value) => Keep(value.ToScalar());
    public static Scalar Of(long value) => Keep(value.ToScalar());
    public static Scalar Of(int value) => Keep(value.ToScalar());
    public static Scalar Of(bool value) => Keep(value.ToScalar());

    private static Scalar Keep(Scalar scalar)
    {
        ring ??= new Scalar?[Held];
        ring[next]?.Dispose();
        ring[next] = scalar;
        next = (next + 1) % Held;
        return scalar;
    }
}
