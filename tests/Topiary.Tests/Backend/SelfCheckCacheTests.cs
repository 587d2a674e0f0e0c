using Topiary.Backend;
using Topiary.Tests.Support;

namespace Topiary.Tests.Backend;

public class SelfCheckCacheTests
{
    private static readonly SelfCheckCache.Key Key = new(SelfCheckCache.CheckVersion, "0.1.0 build", "0.107.0", "2.10.0", "Linux", "X64", "cpu-digest",
        "TOPIARY_ONEDNN=auto TOPIARY_SIMD=auto");

    private static readonly SelfCheckVerdict Disabled = new(SelfCheckOutcome.OneDnnDisabled, 4.4e-7, double.PositiveInfinity, "conv2d 20→50 5×5");

    [Fact]
    public void A_verdict_reads_back_for_its_key_only()
    {
        using var dir = new TestDirectory();
        var cache = new SelfCheckCache(dir.Path);
        Assert.Null(cache.TryRead(Key));
        Assert.True(cache.TryWrite(Key, Disabled));
        Assert.Equal(Disabled, cache.TryRead(Key));
        // Any change of what the verdict depends on misses: never a stale verdict.
        foreach (var other in new[]
                 {
                     Key with { Check = Key.Check + 1 }, Key with { Topiary = "0.1.0 other build" }, Key with { TorchSharp = "0.108.0" },
                     Key with { LibTorch = "2.11.0" }, Key with { Os = "Linux 6.2" }, Key with { Architecture = "Arm64" },
                     Key with { Cpu = "another-cpu" }, Key with { Settings = "TOPIARY_ONEDNN=off TOPIARY_SIMD=auto" },
                 })
        {
            Assert.NotEqual(Key.FileName(), other.FileName());
            Assert.Null(cache.TryRead(other));
        }
    }

    [Fact]
    public void A_damaged_or_foreign_file_is_ignored_and_replaced()
    {
        using var dir = new TestDirectory();
        var cache = new SelfCheckCache(dir.Path);
        var path = cache.PathOf(Key);
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(path, "{ not json");
        Assert.Null(cache.TryRead(Key));
        // A file under this key's name that holds another key (a hash collision, or an edit) does not count.
        var other = new SelfCheckCache(dir.Path);
        other.TryWrite(Key with { Cpu = "else" }, Disabled);
        File.Copy(other.PathOf(Key with { Cpu = "else" }), path, overwrite: true);
        Assert.Null(cache.TryRead(Key));
        Assert.True(cache.TryWrite(Key, Disabled));
        Assert.Equal(Disabled, cache.TryRead(Key));
    }

    [Fact]
    public void A_failed_check_is_never_served_from_the_cache()
    {
        using var dir = new TestDirectory();
        var cache = new SelfCheckCache(dir.Path);
        cache.TryWrite(Key, new SelfCheckVerdict(SelfCheckOutcome.Failed, 0.5));
        Assert.Null(cache.TryRead(Key));
    }

    [Fact]
    public void An_unwritable_folder_is_no_error()
    {
        using var dir = new TestDirectory();
        var blocker = Path.Combine(dir.Path, "file");
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(blocker, "");
        var cache = new SelfCheckCache(Path.Combine(blocker, "below-a-file"));
        Assert.False(cache.TryWrite(Key, Disabled));
        Assert.Null(cache.TryRead(Key));
    }

    [Fact]
    public void The_CPU_signature_ignores_what_differs_between_cores_and_over_time_but_not_the_model_or_microcode()
    {
        const string Block = "processor\t: {0}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC 9R14\n" +
                             "stepping\t: 1\nmicrocode\t: {1}\ncpu MHz\t\t: {2}\ncore id\t\t: {0}\nflags\t\t: fpu avx2 avx512f\nbogomips\t: {3}\n\n";
        var a = MachineIdentity.FromCpuInfo(string.Format(Block, 0, "0xa101148", "2600.0", "5200.1") + string.Format(Block, 1, "0xa101148", "3000", "5200"));
        var b = MachineIdentity.FromCpuInfo(string.Format(Block, 1, "0xa101148", "3700.2", "5199.9"));
        var c = MachineIdentity.FromCpuInfo(string.Format(Block, 0, "0xa101149", "2600.0", "5200.1"));
        Assert.Equal("AMD EPYC 9R14", a.Cpu);
        Assert.NotNull(a.Signature);
        Assert.Equal(a.Signature, b.Signature);
        Assert.NotEqual(a.Signature, c.Signature);
        Assert.Null(MachineIdentity.FromCpuInfo("").Signature);
    }
}
