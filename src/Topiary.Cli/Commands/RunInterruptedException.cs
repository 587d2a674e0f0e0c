namespace Topiary.Cli.Commands;

/// <summary>A run stopped on request; the message says what was saved and how to continue.</summary>
internal sealed class RunInterruptedException(string message, Exception inner) : Exception(message, inner);
