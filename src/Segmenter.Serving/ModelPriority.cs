using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Segmenter.Serving;

/// <summary>How the model's threads are scheduled against the request threads.</summary>
public enum ModelThreadPriority
{
    /// <summary>
    /// Linux <c>SCHED_IDLE</c> for the model's worker threads, preempted at once by any waking request thread; the thread that
    /// calls the model (the first instance's batcher thread) at nice +5, so busy neighbours slow the model down but cannot
    /// stop it; further instances' threads run under <c>SCHED_IDLE</c> as the worker threads do.
    /// </summary>
    Idle,

    /// <summary>nice +<see cref="ModelPriority.Nice"/>: a smaller share than the request threads, never starved.</summary>
    Low,

    /// <summary>As the request threads.</summary>
    Normal,
}

/// <summary>
/// The model's threads run below the request threads, so that under full load a refusal, a health check or a metrics scrape
/// is answered in milliseconds rather than after the model's next time slice, while the model still takes every cycle the
/// requests leave. On Linux they run under <c>SCHED_IDLE</c>: the scheduler preempts such a thread at once when a normal
/// thread wakes (nice values only shorten its share, and a waking request thread could still wait a slice of several ms on
/// each of the hops a response takes). Where that policy is refused, nice +<see cref="Nice"/>. Threads inherit the policy
/// from the thread that makes them: create the engine (and with it ONNX Runtime's thread pool) inside
/// <see cref="Create{T}"/>; the batcher lowers its own (the first instance's to nice +5 under <see cref="ModelThreadPriority.Idle"/>, the others' to <c>SCHED_IDLE</c>). <c>SCHED_IDLE</c>
/// suits a machine that serves well-behaved clients: busy neighbours (a build, a test run, clients that retry at once with
/// whole bodies) leave the model little, for which <see cref="ModelThreadPriority.Low"/> is the choice.
/// </summary>
public static class ModelPriority
{
    /// <summary>The nice value the model's threads run at where <c>SCHED_IDLE</c> is refused.</summary>
    public const int Nice = 5;

    /// <summary>Lowers the calling thread's priority to <paramref name="priority"/>; false where the system does not offer it (not Linux, no glibc).</summary>
    public static bool LowerCurrentThread(ModelThreadPriority priority)
    {
        if (!OperatingSystem.IsLinux() || priority == ModelThreadPriority.Normal) return false;
        try
        {
            var parameter = 0;   // struct sched_param { int sched_priority; }: 0 for SCHED_IDLE
            return (priority == ModelThreadPriority.Idle && SetScheduler(CallingThread, SchedIdle, ref parameter) == 0)
                   || SetPriority(ProcessScope, GetThreadId(), Nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Lowers the thread that calls the model (the first instance's batcher thread) for <paramref name="priority"/>: as the worker threads, except that
    /// under <see cref="ModelThreadPriority.Idle"/> it runs at nice +<see cref="Nice"/>. It works in the model's parallel loops
    /// and takes the chunks idle workers do not claim, so the model keeps a share however busy the machine is.
    /// </summary>
    public static bool LowerCallingThread(ModelThreadPriority priority) =>
        LowerCurrentThread(priority == ModelThreadPriority.Idle ? ModelThreadPriority.Low : priority);

    /// <summary>Whether the calling thread runs under <c>SCHED_IDLE</c> (for tests and diagnostics).</summary>
    public static bool CurrentThreadIsIdlePolicy()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return GetScheduler(CallingThread) == SchedIdle;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="create"/> on a thread of lowered priority (threads it starts inherit it) and returns its result.</summary>
    public static T Create<T>(ModelThreadPriority priority, Func<T> create)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            LowerCurrentThread(priority);
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
    private const int CallingThread = 0, SchedIdle = 5;

    [DllImport("libc", EntryPoint = "sched_setscheduler")]
    private static extern int SetScheduler(int pid, int policy, ref int parameter);

    [DllImport("libc", EntryPoint = "sched_getscheduler")]
    private static extern int GetScheduler(int pid);

    [DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
