using Microsoft.Extensions.Logging;
using Topiary.Cli;
using Topiary.Cli.Commands;
using Topiary.Cli.Console;

return CliApp.Run(args);
