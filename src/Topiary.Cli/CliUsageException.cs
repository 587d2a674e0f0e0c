namespace Topiary.Cli;

/// <summary>Bad command-line input; the message is the whole one-line error.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
