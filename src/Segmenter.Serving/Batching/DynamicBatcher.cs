using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Segmenter.Export;
using static TorchSharp.torch;

namespace Segmenter.Serving.Batching;

/// <summary>
/// Groups requests into runs of the model. Requests of equal height and width that arrive within
/// <see cref="BatchingOptions.MaxDelay"/> of the oldest waiting one run together, up to <see cref="BatchingOptions.MaxBatch"/>
/// images. Admission is bounded (<see cref="TryAdmit"/>): past <see cref="BatchingOptions.MaxQueue"/> requests the caller is
/// told at once, and memory does not grow. Each engine (an instance of the model) has a thread of its own: while one runs
/// a batch, the next free one gathers the next batch, so instances run side by side as Triton's instance groups do.
/// A request whose caller has gone is skipped. When a batch fails, its requests run one by one, so only the request that
/// fails is answered with the failure.
/// </summary>
public sealed class DynamicBatcher : IDisposable
{
    private readonly BatchingOptions options;
    private readonly ServerMetrics? metrics;
    private readonly BlockingCollection<Item> incoming = new();
    private readonly object forming = new();            // held by the one worker that gathers a batch
    private readonly LinkedList<Item> waiting = new();   // under `forming`: items taken from incoming, not yet run
    private readonly Instance[] instances;
    private int admitted, queued, running;   // running: instances running a batch

    /// <summary>Starts a worker thread over <paramref name="engine"/> (not owned: the caller disposes it after this).</summary>
    public DynamicBatcher(IInferenceEngine engine, BatchingOptions options, ServerMetrics? metrics = null)
        : this(new[] { engine }, options, metrics)
    {
    }

    /// <summary>
    /// Starts one worker thread per engine of <paramref name="engines"/>: instances of one model that run side by side
    /// (not owned: the caller disposes them after this).
    /// </summary>
    public DynamicBatcher(IReadOnlyList<IInferenceEngine> engines, BatchingOptions options, ServerMetrics? metrics = null)
    {
        options.Validate();
        if (engines.Count == 0) throw new ArgumentException("give at least one engine", nameof(engines));
        if (engines.Any(e => e.Classes != engines[0].Classes))
            throw new ArgumentException($"the instances disagree on the classes ({string.Join(", ", engines.Select(e => e.Classes))}): give instances of one model", nameof(engines));
        this.options = options;
        this.metrics = metrics;
        instances = engines.Select(engine => new Instance(engine)).ToArray();
        for (int i = 0; i < instances.Length; i++)
        {
            var instance = instances[i];
            instance.Worker = new Thread(() => Work(instance)) { Name = $"segmenter-batcher-{i}", IsBackground = true };
            instance.Worker.Start();
        }
    }

    /// <summary>The number of model instances that run side by side.</summary>
    public int Instances => instances.Length;

    /// <summary>The requests admitted and not yet released (waiting, running, or being read or answered).</summary>
    public int Admitted => Volatile.Read(ref admitted);

    /// <summary>The requests waiting for the model.</summary>
    public int Queued => Volatile.Read(ref queued);

    /// <summary>
    /// A slot for one request, or null when <see cref="BatchingOptions.MaxQueue"/> requests hold one: the caller answers
    /// "try later" instead of waiting. Dispose the slot when the request is answered (or its caller has gone).
    /// </summary>
    public IDisposable? TryAdmit()
    {
        while (true)
        {
            int current = Volatile.Read(ref admitted);
            if (current >= options.MaxQueue) return null;
            if (Interlocked.CompareExchange(ref admitted, current + 1, current) == current)
            {
                metrics?.InFlight.Inc();
                return new Slot(this);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="images"/> [n, 3, H, W] (normalised float32 on the CPU) in a batch and returns the outputs asked for.
    /// The batcher keeps its own reference to the images: the caller may dispose its tensor at any time.
    /// Cancelling <paramref name="cancellation"/> before the run starts drops the request.
    /// </summary>
    public Task<BatchResult> RunAsync(Tensor images, Outputs outputs, CancellationToken cancellation = default)
    {
        if (images.dim() != 4 || images.shape[1] != 3 || images.dtype != ScalarType.Float32)
            throw new ArgumentException($"expected float32 images [n, 3, H, W], got {images.dtype} [{string.Join(", ", images.shape)}]");
        if (images.shape[0] > options.MaxBatch)
            throw new ArgumentException($"a batch of {images.shape[0]} images is more than the server's maximum of {options.MaxBatch} (--max-batch)");
        cancellation.ThrowIfCancellationRequested();
        var own = images.alias();
        own.DetachFromDisposeScope();
        var item = new Item(own, outputs);
        if (cancellation.CanBeCanceled)
            item.Registration = cancellation.Register(static state => ((Item)state!).Done.TrySetCanceled(), item);
        try
        {
            incoming.Add(item);
        }
        catch (InvalidOperationException)
        {
            item.Release();
            throw new OperationCanceledException("the server is shutting down");
        }
        Interlocked.Increment(ref queued);
        metrics?.Queue.Inc();
        return item.Done.Task;
    }

    /// <summary>Stops taking requests, runs those already waiting, and waits for the worker (at most <paramref name="timeout"/>).</summary>
    public bool Drain(TimeSpan timeout)
    {
        incoming.CompleteAdding();
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        bool all = true;
        foreach (var instance in instances)
        {
            var left = TimeSpan.FromSeconds(Math.Max(0, deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            all &= instance.Worker!.Join(left);
        }
        return all;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!incoming.IsAddingCompleted) Drain(TimeSpan.FromSeconds(30));
        incoming.Dispose();
        foreach (var instance in instances) instance.Dispose();
    }

    private void Work(Instance instance)
    {
        // Requests are answered first; the model takes what they leave. The first instance's thread keeps a share however
        // busy the machine is (as the thread that calls ONNX Runtime does); the others yield as its worker threads do.
        if (instance == instances[0]) ModelPriority.LowerCallingThread(options.ModelThreads);
        else ModelPriority.LowerCurrentThread(options.ModelThreads);
        using var noGrad = no_grad();
        while (true)
        {
            List<Item>? batch;
            lock (forming)
            {
                batch = NextBatch();
                if (batch is null) return;   // no more will come
                Interlocked.Increment(ref running);
            }
            try
            {
                Run(batch, instance);
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        }
    }

    /// <summary>
    /// The next batch to run (waiting up to the batching delay for it to fill), or null once no more requests will come.
    /// While other instances are idle too, a batch takes its share of the waiting images and does not wait for more: one
    /// instance running three requests while another has none would hold two of them back for nothing.
    /// </summary>
    private List<Item>? NextBatch()
    {
        while (true)
        {
            if (waiting.Count == 0)
            {
                if (!incoming.TryTake(out var next, Timeout.Infinite)) return null;
                waiting.AddLast(next);
            }
            while (incoming.TryTake(out var more)) waiting.AddLast(more);
            DropAbandoned();
            if (waiting.Count == 0) continue;

            int idle = instances.Length - Volatile.Read(ref running);   // this one among them
            int cap = idle <= 1 ? options.MaxBatch : Math.Clamp((waiting.Sum(i => i.Count) + idle - 1) / idle, 1, options.MaxBatch);
            var first = waiting.First!.Value;
            var batch = new List<Item> { first };
            int images = first.Count;
            bool full = false;
            foreach (var other in waiting.Skip(1)) full |= !TryJoin(batch, other, cap, ref images);
            var deadline = first.Arrived + (long)(options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
            while (!full && images < cap && Stopwatch.GetTimestamp() is var now && now < deadline)
            {
                var left = TimeSpan.FromSeconds((deadline - now) / (double)Stopwatch.Frequency);
                if (!incoming.TryTake(out var late, left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left)) break;
                waiting.AddLast(late);
                full = !TryJoin(batch, late, cap, ref images);
            }
            foreach (var item in batch) waiting.Remove(item);
            Interlocked.Add(ref queued, -batch.Count);
            metrics?.Queue.Dec(batch.Count);
            return batch;
        }
    }

    /// <summary>
    /// Adds <paramref name="item"/> to the batch if it has the batch's size and fits in <paramref name="cap"/> images; false when it
    /// has the size but not the room.
    /// </summary>
    private bool TryJoin(List<Item> batch, Item item, int cap, ref int images)
    {
        var first = batch[0];
        if (item.Height != first.Height || item.Width != first.Width || item.Done.Task.IsCompleted) return true;
        long pixels = (long)(images + item.Count) * item.Height * item.Width;
        if (images + item.Count > cap || pixels > options.MaxPixels) return false;
        batch.Add(item);
        images += item.Count;
        return true;
    }

    /// <summary>Forgets requests whose callers have gone.</summary>
    private void DropAbandoned()
    {
        for (var node = waiting.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Done.Task.IsCompleted)
            {
                node.Value.Release();
                waiting.Remove(node);
                Interlocked.Decrement(ref queued);
                metrics?.Queue.Dec();   // the request's handler counts the error (cancelled) when the cancellation reaches it
            }
            node = next;
        }
    }

    private void Run(List<Item> batch, Instance instance)
    {
        try
        {
            var live = batch.Where(i => !i.Done.Task.IsCompleted).ToList();
            if (live.Count == 0) return;
            try
            {
                Execute(live, instance);
            }
            catch (Exception) when (live.Count > 1)
            {
                // One request may be what fails (say, values that break the model): run each alone so the others are answered.
                foreach (var item in live)
                {
                    try
                    {
                        Execute(new List<Item> { item }, instance);
                    }
                    catch (Exception e)
                    {
                        Fail(item, e);
                    }
                }
            }
            catch (Exception e)
            {
                Fail(live[0], e);
            }
        }
        finally
        {
            foreach (var item in batch) item.Release();
        }
    }

    private void Fail(Item item, Exception e)
    {
        item.Done.TrySetException(new ModelFailedException($"the model failed on this request: {e.Message}", e));
    }

    private void Execute(List<Item> items, Instance instance)
    {
        var engine = instance.Engine;
        int count = items.Sum(i => i.Count);
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var input = items.Count == 1 ? items[0].Images : Gather(items, count, instance);
        var wanted = items.Aggregate((Outputs)0, (all, i) => all | i.Outputs);
        long height = input.shape[2], width = input.shape[3];
        // With several instances, each takes its argmax on its own thread, at its own priority, leaving the other cores
        // to the other instances (and under overload to the request threads); one instance takes every core for it.
        int argmaxThreads = instances.Length > 1 ? 1 : 0;
        if (wanted == Outputs.Labels && engine.CanRunLabels)
        {
            // Labels only, from the class maps at patch resolution: the logits are never made.
            var direct = empty(new[] { (long)count, height, width }, LabelsOutput.IsByte(engine.Classes) ? ScalarType.Byte : ScalarType.Int64);
            engine.RunLabelsInto(input, direct, argmaxThreads);
            Observe(count, clock);
            Complete(items, null, direct, count);
            return;
        }
        Tensor logits;
        if ((wanted & Outputs.Logits) == 0 && engine.CanRunInto)
        {
            // Labels only: the logits go to a buffer kept from run to run (a 512² image of 150 classes has 157 MB of them).
            logits = Reused(ref instance.Scratch, count, engine.Classes, height, width);
            engine.RunInto(input, logits);
        }
        else
        {
            logits = engine.Run(input);
            if (!logits.shape.SequenceEqual(new long[] { count, engine.Classes, height, width }))
                throw new InvalidOperationException($"the model returned logits [{string.Join(", ", logits.shape)}], not [{count}, {engine.Classes}, {height}, {width}]");
        }
        var labels = (wanted & Outputs.Labels) != 0 ? Argmax.Labels(logits, argmaxThreads) : null;
        Observe(count, clock);
        Complete(items, (wanted & Outputs.Logits) != 0 ? logits : null, labels, count);
    }

    private void Observe(int count, Stopwatch clock)
    {
        metrics?.BatchSize.Observe(count);
        metrics?.InferenceSeconds.Observe(clock.Elapsed.TotalSeconds);
    }

    /// <summary>Answers each request with its rows of the outputs it asked for.</summary>
    private static void Complete(List<Item> items, Tensor? logits, Tensor? labels, int count)
    {
        long offset = 0;
        foreach (var item in items)
        {
            var result = new BatchResult(
                (item.Outputs & Outputs.Logits) != 0 ? Share(logits!, offset, item.Count, whole: items.Count == 1) : null,
                (item.Outputs & Outputs.Labels) != 0 ? Share(labels!, offset, item.Count, whole: items.Count == 1) : null,
                count);
            offset += item.Count;
            if (!item.Done.TrySetResult(result)) result.Dispose();   // its caller has gone meanwhile
        }
    }

    /// <summary>The requests' images one after another in the reused input buffer (a copy each, no allocation).</summary>
    private Tensor Gather(List<Item> items, int count, Instance instance)
    {
        var first = items[0];
        var batch = Reused(ref instance.Inputs, count, 3, first.Height, first.Width);
        long offset = 0;
        foreach (var item in items)
        {
            using var rows = batch.narrow(0, offset, item.Count);
            rows.copy_(item.Images);
            offset += item.Count;
        }
        return batch;
    }

    /// <summary>
    /// The first <paramref name="count"/> rows of <paramref name="buffer"/> [n, channels, height, width], an instance's buffer
    /// kept from run to run, made anew (for the largest batch of this size) only when the size changes or it holds too few
    /// rows: runs of any batch size write to memory already touched (fresh memory costs a page fault per 4 KB; a 512² image
    /// of 150 classes has 157 MB of logits).
    /// </summary>
    private Tensor Reused(ref Tensor? buffer, int count, long channels, long height, long width)
    {
        if (buffer is null || buffer.shape[1] != channels || buffer.shape[2] != height || buffer.shape[3] != width || buffer.shape[0] < count)
        {
            buffer?.Dispose();
            buffer = empty(new[] { Capacity(height, width, count), channels, height, width }, float32);
            buffer.DetachFromDisposeScope();
        }
        return buffer.narrow(0, 0, count);
    }

    /// <summary>The most images one batch of this size may hold (at least <paramref name="count"/>).</summary>
    private long Capacity(long height, long width, int count) => Math.Max(count, Math.Min(options.MaxBatch, options.MaxPixels / Math.Max(1, height * width)));

    /// <summary>The rows of one request, as a tensor of its own outside the batch's dispose scope.</summary>
    private static Tensor Share(Tensor all, long offset, int count, bool whole)
    {
        var share = whole ? all.alias() : all.narrow(0, offset, count).contiguous().clone();
        share.DetachFromDisposeScope();
        return share;
    }

    /// <summary>One instance of the model: its engine, its thread and the buffers that thread keeps from run to run.</summary>
    private sealed class Instance : IDisposable
    {
        public Tensor? Inputs, Scratch;   // the input buffer of batches of several requests; the logits buffer

        public Instance(IInferenceEngine engine) => Engine = engine;

        public IInferenceEngine Engine { get; }

        public Thread? Worker { get; set; }

        public void Dispose()
        {
            Scratch?.Dispose();
            Inputs?.Dispose();
        }
    }

    private sealed class Item
    {
        public Item(Tensor images, Outputs outputs)
        {
            Images = images;
            Outputs = outputs;
            Count = (int)images.shape[0];
            Height = images.shape[2];
            Width = images.shape[3];
            Arrived = Stopwatch.GetTimestamp();
        }

        public Tensor Images { get; }
        public Outputs Outputs { get; }
        public int Count { get; }
        public long Height { get; }
        public long Width { get; }
        public long Arrived { get; }
        public CancellationTokenRegistration Registration { get; set; }
        public TaskCompletionSource<BatchResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release()
        {
            Registration.Dispose();
            Images.Dispose();
        }
    }

    private sealed class Slot : IDisposable
    {
        private DynamicBatcher? owner;

        public Slot(DynamicBatcher owner) => this.owner = owner;

        public void Dispose()
        {
            var batcher = Interlocked.Exchange(ref owner, null);
            if (batcher is null) return;
            Interlocked.Decrement(ref batcher.admitted);
            batcher.metrics?.InFlight.Dec();
        }
    }
}

/// <summary>The model failed on a request (the server answers 500 for it and stays up).</summary>
public sealed class ModelFailedException : Exception
{
    /// <summary>A failure with its cause.</summary>
    public ModelFailedException(string message, Exception inner) : base(message, inner) { }
}
