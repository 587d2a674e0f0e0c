using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Reaches the few libtorch/c10 switches that TorchSharp does not bind, through symbols the
/// native libraries export. Every entry point degrades to "unavailable" rather than throwing,
/// because a GPU build or another libtorch may not export them.
/// </summary>
internal static unsafe class LibTorchNative
{
    private const string GlobalContextSymbol = "_ZN2at13globalContextEv";
    private const string SetUserEnabledMkldnnSymbol = "_ZN2at7Context20setUserEnabledMkldnnEb";
    private const string UserEnabledMkldnnSymbol = "_ZNK2at7Context17userEnabledMkldnnEv";
    private const string LogLevelSymbol = "FLAGS_caffe2_log_level";

    private static readonly Lazy<IntPtr> TorchCpu = new(() => LoadLoaded("libtorch_cpu"));
    private static readonly Lazy<IntPtr> C10 = new(() => LoadLoaded("libc10"));
    private static readonly Lazy<IntPtr> TensorData = new(() => Export(LoadLoaded("libLibTorchSharp"), "THSTensor_data"));

    /// <summary>
    /// The data pointer of a tensor through TorchSharp's own native export, one call where <c>Tensor.bytes</c> checks
    /// dtype, device, contiguity and size first. At batch 1 that matters: LeNet-300-100 at 95% measured 4.23–4.92×
    /// dense with <c>bytes</c> and 4.68–5.21× with this. Zero when the export is missing. The caller vouches for a
    /// contiguous CPU tensor.
    /// </summary>
    public static IntPtr DataPointer(TorchSharp.torch.Tensor tensor)
    {
        var fn = TensorData.Value;
        return fn == IntPtr.Zero ? IntPtr.Zero : ((delegate* unmanaged<IntPtr, IntPtr>)fn)(tensor.Handle);
    }

    /// <summary>True when oneDNN can be switched from here.</summary>
    public static bool CanToggleOneDnn => Export(TorchCpu.Value, SetUserEnabledMkldnnSymbol) != IntPtr.Zero
                                          && Export(TorchCpu.Value, GlobalContextSymbol) != IntPtr.Zero;

    /// <summary>at::globalContext().userEnabledMkldnn(), or null when the symbol is missing.</summary>
    public static bool? IsOneDnnEnabled()
    {
        var context = GlobalContext();
        var getter = Export(TorchCpu.Value, UserEnabledMkldnnSymbol);
        if (context == IntPtr.Zero || getter == IntPtr.Zero) return null;
        return ((delegate* unmanaged<IntPtr, byte>)getter)(context) != 0;
    }

    /// <summary>at::globalContext().setUserEnabledMkldnn(enabled); false when unavailable.</summary>
    public static bool SetOneDnnEnabled(bool enabled)
    {
        var context = GlobalContext();
        var setter = Export(TorchCpu.Value, SetUserEnabledMkldnnSymbol);
        if (context == IntPtr.Zero || setter == IntPtr.Zero) return false;
        ((delegate* unmanaged<IntPtr, byte, void>)setter)(context, enabled ? (byte)1 : (byte)0);
        return true;
    }

    /// <summary>
    /// Sets c10's minimum log level (0 INFO, 1 WARNING, 2 ERROR). With oneDNN off libtorch
    /// warns about NNPACK on every convolution; level 2 keeps the user's console readable.
    /// </summary>
    public static bool SetLogLevel(int level)
    {
        var flag = Export(C10.Value, LogLevelSymbol);
        if (flag == IntPtr.Zero) return false;
        *(int*)flag = level;
        return true;
    }

    private static IntPtr GlobalContext()
    {
        var fn = Export(TorchCpu.Value, GlobalContextSymbol);
        return fn == IntPtr.Zero ? IntPtr.Zero : ((delegate* unmanaged<IntPtr>)fn)();
    }

    private static IntPtr Export(IntPtr library, string symbol) =>
        library != IntPtr.Zero && NativeLibrary.TryGetExport(library, symbol, out var address) ? address : IntPtr.Zero;

    // TorchSharp has already loaded libtorch by the time we get here (we force it below), so
    // the dynamic loader hands back the very same image that TorchSharp calls into.
    private static IntPtr LoadLoaded(string stem)
    {
        using (var _ = empty(1)) { }
        var names = OperatingSystem.IsWindows() ? new[] { stem.Replace("lib", "") + ".dll" }
            : OperatingSystem.IsMacOS() ? new[] { stem + ".dylib" }
            : new[] { stem + ".so" };
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
            if (NativeLibrary.TryLoad(name, typeof(TorchSharp.torch).Assembly, DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories, out handle)) return handle;
            foreach (var dir in CandidateDirectories())
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out handle)) return handle;
            }
        }
        return IntPtr.Zero;
    }

    private static IEnumerable<string> CandidateDirectories()
    {
        var rid = RuntimeInformation.RuntimeIdentifier;
        foreach (var assembly in new[] { typeof(TorchSharp.torch).Assembly, Assembly.GetEntryAssembly() })
        {
            var location = assembly?.Location;
            if (string.IsNullOrEmpty(location)) continue;
            var dir = Path.GetDirectoryName(location)!;
            yield return dir;
            yield return Path.Combine(dir, "runtimes", rid, "native");
            yield return Path.Combine(dir, "runtimes", OperatingSystem.IsLinux() ? "linux-x64" : rid, "native");
        }
        yield return AppContext.BaseDirectory;
    }
}
