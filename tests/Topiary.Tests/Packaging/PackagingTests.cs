using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Xml.Linq;
using Topiary.Tests.Support;

namespace Topiary.Tests.Packaging;

/// <summary>
/// What a user gets from <c>dotnet pack</c>: scripts/pack.sh packs the library and the tool once for this class; the
/// tool is installed from those packages alone into a temporary tool path and prunes from there. All of it (packages,
/// the tool, the build folder, the run) lives in one temporary folder, deleted afterwards, on failure too.
/// </summary>
public sealed class PackagingTests(PackagingTests.Packed packed) : IClassFixture<PackagingTests.Packed>
{
    private static readonly string Version = ToolInfo.Version;

    [PackagingFact]
    public void The_library_package_holds_the_library_and_depends_on_TorchSharp_without_a_backend()
    {
        using var package = ZipFile.OpenRead(packed.Package($"Topiary.{Version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToList();
        foreach (var expected in new[] { "lib/net10.0/Topiary.dll", "lib/net10.0/Topiary.xml", "README.md" })
            Assert.True(entries.Contains(expected), $"the library package lacks {expected}: {string.Join(", ", entries)}");
        Assert.DoesNotContain(entries, e => e.StartsWith("runtimes/", StringComparison.Ordinal) || e.EndsWith(".so", StringComparison.Ordinal)
            || (e.EndsWith(".dll", StringComparison.Ordinal) && e != "lib/net10.0/Topiary.dll"));

        var nuspec = Nuspec(package, "Topiary.nuspec");
        var ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("Topiary", metadata.Element(ns + "id")?.Value);
        Assert.Equal(Version, metadata.Element(ns + "version")?.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { "Microsoft.Extensions.Logging.Abstractions", "TorchSharp" }, dependencies);
    }

    [PackagingFact]
    public void The_inference_and_experiments_packages_hold_their_assembly_and_depend_on_the_ones_below()
    {
        // ONNX Runtime is the inference package's dense engine (OnnxRuntimeNetwork); the core library stays without it.
        foreach (var (id, below) in new[] { ("Topiary.Inference", new[] { "Microsoft.ML.OnnxRuntime", "Topiary" }), ("Topiary.Experiments", new[] { "Topiary", "Topiary.Inference" }) })
        {
            using var package = ZipFile.OpenRead(packed.Package($"{id}.{Version}.nupkg"));
            var entries = package.Entries.Select(e => e.FullName).ToList();
            foreach (var expected in new[] { $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml" })
                Assert.True(entries.Contains(expected), $"{id} lacks {expected}: {string.Join(", ", entries)}");
            Assert.DoesNotContain(entries, e => e.EndsWith(".so", StringComparison.Ordinal) || (e.EndsWith(".dll", StringComparison.Ordinal) && e != $"lib/net10.0/{id}.dll"));
            var nuspec = Nuspec(package, $"{id}.nuspec");
            var ns = nuspec.Root!.Name.Namespace;
            var dependencies = nuspec.Root.Element(ns + "metadata")!.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).Order(StringComparer.Ordinal);
            Assert.Equal(below, dependencies);
            Assert.All(nuspec.Root.Element(ns + "metadata")!.Descendants(ns + "dependency").Where(d => ((string)d.Attribute("id")!).StartsWith("Topiary", StringComparison.Ordinal)),
                d => Assert.Equal(Version, (string?)d.Attribute("version")));
        }
    }

    [PackagingFact]
    public void The_tool_installs_from_the_packages_alone_and_prunes()
    {
        using (var pointer = ZipFile.OpenRead(packed.Package($"Topiary.Cli.{Version}.nupkg")))
        {
            var settings = XDocument.Load(pointer.GetEntry("tools/any/any/DotnetToolSettings.xml")!.Open());
            Assert.Equal("topiary", settings.Descendants("Command").Single().Attribute("Name")?.Value);
            var rid = settings.Descendants("RuntimeIdentifierPackage").Single();
            Assert.Equal(("linux-x64", "Topiary.Cli.linux-x64"), ((string?)rid.Attribute("RuntimeIdentifier"), (string?)rid.Attribute("Id")));
        }
        using (var tool = ZipFile.OpenRead(packed.Package($"Topiary.Cli.linux-x64.{Version}.nupkg")))
        {
            var files = tool.Entries.Select(e => e.FullName).ToHashSet();
            foreach (var expected in new[] { "Topiary.Cli.dll", "Topiary.dll", "Topiary.Inference.dll", "Topiary.Experiments.dll", "libtorch_cpu.so", "libLibTorchSharp.so" })
                Assert.True(files.Contains($"tools/net10.0/linux-x64/{expected}"), $"the linux-x64 tool package lacks {expected}");
            Assert.DoesNotContain(files, f => f.Contains("/runtimes/", StringComparison.Ordinal) || f.EndsWith(".dylib", StringComparison.Ordinal)
                || f.EndsWith("libtorch_python.so", StringComparison.Ordinal));
        }

        // Sources: the package folder alone (the config clears the machine's). An empty NuGet cache of its own shows
        // that the install needs nothing from the machine's cache or a registry, and leaves nothing in them.
        var config = packed.File("nuget.config");
        File.WriteAllText(config, """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
              </packageSources>
            </configuration>
            """);
        var tools = packed.File("tools");
        var install = packed.Run("dotnet", ["tool", "install", "Topiary.Cli", "--version", Version, "--tool-path", tools,
            "--configfile", config, "--add-source", packed.Packages], TimeSpan.FromMinutes(3),
            new() { ["NUGET_PACKAGES"] = packed.File("nuget-cache") });
        Assert.True(install.ExitCode == 0, $"dotnet tool install exited with {install.ExitCode}: {install.Output}\n{install.Error}");

        var topiary = Path.Combine(tools, "topiary");
        var toolEnvironment = new Dictionary<string, string?> { ["TOPIARY_CACHE_DIR"] = packed.File("self-check-cache"), ["TOPIARY_DEBUG"] = null };
        var version = packed.Run(topiary, ["--version"], TimeSpan.FromMinutes(1), toolEnvironment);
        Assert.True(version.ExitCode == 0, version.Error);
        Assert.Equal(Version, version.Output.Trim());

        var data = packed.File("data");
        SyntheticIdx.Write(data, trainCount: 300, testCount: 100);
        var run = packed.File("run");
        var prune = packed.Run(topiary, ["prune", "--model", "lenet300", "--data", data, "--subset", "200", "--dense-epochs", "1",
            "--epochs", "1", "--out", run], TimeSpan.FromMinutes(4), toolEnvironment);
        Assert.True(prune.ExitCode == 0, $"topiary prune exited with {prune.ExitCode}: {prune.Error}\n{prune.Output}");
        var reportPath = Path.Combine(run, "report.json");
        Assert.True(File.Exists(reportPath), $"the installed tool wrote no report.json: {prune.Output}");
        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        Assert.Equal(Version, report.RootElement.GetProperty("tool_version").GetString());
        Assert.Equal(266_610, report.RootElement.GetProperty("dense").GetProperty("total_params").GetInt64());
    }

    private static XDocument Nuspec(ZipArchive package, string name)
    {
        using var stream = package.GetEntry(name)!.Open();
        return XDocument.Load(stream);
    }

    /// <summary>The packages of scripts/pack.sh, made on first use, in a temporary folder deleted on dispose.</summary>
    public sealed class Packed : IDisposable
    {
        private readonly Lazy<TestDirectory> directory;

        public Packed() => directory = new(Pack);

        /// <summary>The folder that holds the packages (and nothing else).</summary>
        public string Packages => Path.Combine(directory.Value.Path, "packages");

        /// <summary>A package by file name; fails when pack.sh did not make it.</summary>
        public string Package(string name)
        {
            var path = Path.Combine(Packages, name);
            Assert.True(System.IO.File.Exists(path), $"scripts/pack.sh made no {name}; it made {string.Join(", ", Directory.GetFiles(Packages).Select(Path.GetFileName))}");
            return path;
        }

        /// <summary>A path in the temporary folder.</summary>
        public string File(string name) => directory.Value.File(name);

        private TestDirectory Pack()
        {
            var created = new TestDirectory();
            try
            {
                Directory.CreateDirectory(Path.Combine(created.Path, "tmp"));
                var script = Repository.Path("scripts", "pack.sh");
                var pack = Run(created, "bash", [script, Path.Combine(created.Path, "packages")], TimeSpan.FromMinutes(8), []);
                Assert.True(pack.ExitCode == 0, $"scripts/pack.sh exited with {pack.ExitCode}: {pack.Output}\n{pack.Error}");
                return created;
            }
            catch
            {
                created.Dispose();
                throw;
            }
        }

        public sealed record Result(int ExitCode, string Output, string Error);

        /// <summary>Runs a program with this folder's tmp/ as TMPDIR and <paramref name="environment"/> (null removes).</summary>
        public Result Run(string program, string[] arguments, TimeSpan timeout, Dictionary<string, string?> environment) =>
            Run(directory.Value, program, arguments, timeout, environment);

        private static Result Run(TestDirectory directory, string program, string[] arguments, TimeSpan timeout, Dictionary<string, string?> environment)
        {
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            // The test host may carry dotnet test's MSBuild variables; a nested dotnet sets its own.
            foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
                start.Environment.Remove(name);
            // Temporary files (pack.sh's build folder, NuGet's scratch) go into the test's folder, so that they are
            // deleted with it even when a process is killed.
            start.Environment["TMPDIR"] = Path.Combine(directory.Path, "tmp");
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            foreach (var (name, value) in environment) start.Environment[name] = value;
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in {timeout}");
            }
            return new Result(process.ExitCode, output.Result, error.Result);
        }

        public void Dispose()
        {
            if (directory.IsValueCreated) directory.Value.Dispose();
        }
    }
}

/// <summary>
/// A packaging fact. It runs once per <c>./topiary.sh test</c>, in the machine leg (topiary.sh sets TOPIARY_TEST_LEG),
/// and is skipped, with the reason, in the other leg, when TOPIARY_SKIP_PACKAGING=1, and off linux-x64.
/// </summary>
internal sealed class PackagingFactAttribute : FactAttribute
{
    public PackagingFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TOPIARY_SKIP_PACKAGING") is { Length: > 0 } skip && skip != "0")
            Skip = "TOPIARY_SKIP_PACKAGING is set, so the packages are not built and installed";
        else if (MachineLegFactAttribute.OutsideMachineLeg("packaging") is { } leg)
            Skip = leg;
        else if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            Skip = "the tool is packed for linux-x64 only";
    }
}
