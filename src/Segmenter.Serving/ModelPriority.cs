using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Segmenter.Serving;

/// <summary>
/// The model's threads run at a lower priority than the request threads (Linux nice +<see cref="Nice"/>), so that under full
/// load a refusal, a health check or a metrics scrape is answered in milliseconds rather than after the model's next time
/// slice, while the model still takes every cycle the requests leave. Threads inherit the value from the thread that makes
/// them: create the engine (and with it ONNX Runtime's thread pool) inside <see cref="Create{T}"/>; the batcher lowers its own.
/// </summary>
public static class ModelPriority
{
    /// <summary>The nice value the model's threads run at.</summary>
    public const int Nice = 5;

    /// <summary>Lowers the calling thread's priority; false where the system does not offer it (not Linux, no glibc).</summary>
    public static bool LowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return SetPriority(ProcessScope, GetThreadId(), Nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="create"/> on a thread of lowered priority (threads it starts inherit it) and returns its result.</summary>
    public static T Create<T>(Func<T> create)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            LowerCurrentThread();
            try
            {
                result = create();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { Name = "segmenter-model-setup" };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return result!;
    }

    private const int ProcessScope = 0;   // PRIO_PROCESS: with a thread id, that thread alone on Linux

    [DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
