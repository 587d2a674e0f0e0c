using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Topiary.Tests.Support;

namespace Topiary.Tests.Layout;

/// <summary>
/// No TorchSharp <c>Scalar</c> is created implicitly in the libraries. TorchSharp 0.107 passes a Scalar argument's native
/// handle without keeping the object alive (<c>THSTensor_addcdiv_(…, value.Handle)</c>, no <c>GC.KeepAlive</c>), so the
/// temporary Scalar of <c>x.addcdiv_(a, b, value: 0.1)</c> can be finalized, and its native value freed, while libtorch
/// reads it: "Unknown scalar type" or "Expected false to be true … toFloat" at random, under load. A Scalar the code holds
/// (<c>using var s = v.ToScalar()</c>) lives until the call returns. This reads the sources with the compiler and lists
/// every implicit conversion to Scalar.
/// </summary>
public class ImplicitScalarTests
{
    [Fact]
    public void The_libraries_and_the_tool_create_no_Scalar_implicitly()
    {
        var trees = new[] { "Topiary", "Topiary.Inference", "Topiary.Experiments", "Topiary.Cli" }
            .SelectMany(project => Directory.GetFiles(Repository.Path("src", project), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
                .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), new CSharpParseOptions(LanguageVersion.Preview), path: Path.GetRelativePath(Repository.Root, f))))
            .ToList();
        // The projects' implicit usings (ImplicitUsings in Directory.Build.props), which the SDK generates into obj/.
        trees.Add(CSharpSyntaxTree.ParseText(string.Join("\n", new[] { "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http",
            "System.Threading", "System.Threading.Tasks" }.Select(n => $"global using global::{n};")), new CSharpParseOptions(LanguageVersion.Preview), path: "GlobalUsings.g.cs"));
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform.Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !Path.GetFileName(p).StartsWith("Topiary", StringComparison.Ordinal))
            .GroupBy(Path.GetFileName).Select(g => MetadataReference.CreateFromFile(g.First())).ToList();
        var compilation = CSharpCompilation.Create("check", trees, references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        // The check is only as good as the compilation: every call must bind. (The bodies that source generators write,
        // those of [GeneratedRegex] partial methods, are not generated here: CS8795.)
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS8795").Take(5).ToList();
        Assert.True(errors.Count == 0, $"the sources do not compile here:\n{string.Join("\n", errors)}");
        var scalar = compilation.GetTypeByMetadataName("TorchSharp.Scalar");
        Assert.NotNull(scalar);
        var found = new List<string>();
        foreach (var tree in trees)
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var expression in tree.GetRoot().DescendantNodes().OfType<ExpressionSyntax>())
            {
                var conversion = model.GetConversion(expression);
                if (!conversion.IsUserDefined || !conversion.IsImplicit) continue;
                if (!SymbolEqualityComparer.Default.Equals(model.GetTypeInfo(expression).ConvertedType, scalar)) continue;
                var start = tree.GetLineSpan(expression.Span).StartLinePosition;
                found.Add($"{tree.FilePath}:{start.Line + 1}:{start.Character + 1}: {expression} [{expression.Span.Start}+{expression.Span.Length}]");
            }
        }
        Assert.True(found.Count == 0, $"{found.Count} implicit Scalar conversions (hold the Scalar: using var s = value.ToScalar()):\n{string.Join("\n", found)}");
    }
}
