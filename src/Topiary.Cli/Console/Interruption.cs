using System.Runtime.InteropServices;

namespace Topiary.Cli.Console;

/// <summary>
/// Turns the first SIGINT (Ctrl-C) or SIGTERM into a cancellation request, so the run can write a
/// checkpoint and exit cleanly; a second signal is left to the default handler and ends the process
/// at once, for a user who does not want to wait.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly PosixSignalRegistration[] registrations;
    private int signalled;

    public Interruption()
    {
        registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>The signal that cancelled the run, if any.</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>Conventional exit code of a process ended by <see cref="Signal"/>: 128 + its number.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    /// <summary>The signal's usual name, for messages.</summary>
    public string SignalName => Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT (Ctrl-C)";

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.Exchange(ref signalled, 1) == 1) return;
        context.Cancel = true;
        Signal = context.Signal;
        source.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        source.Dispose();
    }
}
