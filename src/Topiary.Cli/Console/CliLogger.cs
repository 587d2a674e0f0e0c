using Microsoft.Extensions.Logging;

namespace Topiary.Cli.Console;

/// <summary>Writes the library's warnings and errors as single lines on standard error.</summary>
internal sealed class CliLogger(LogLevel minimum) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        var prefix = logLevel switch
        {
            >= LogLevel.Error => "error: ",
            LogLevel.Warning => "warning: ",
            _ => "",
        };
        System.Console.Error.WriteLine(prefix + formatter(state, exception));
    }
}
