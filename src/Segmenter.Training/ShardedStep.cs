using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;
using Segmenter.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Segmenter.Training;

/// <summary>
/// The forward and backward passes of a training step, with the batch split across threads: each shard (a run of
/// consecutive images) is computed by a thread of its own with libtorch at one thread, and the shards' gradients are
/// added in a fixed order, each shard's as soon as the shards before it have added theirs. On a CPU this keeps every
/// core on large matrix products for the whole step: libtorch's own parallelism splits each product, and many of a
/// ViT's products (attention's 64-wide heads, the rows left over by 1025 tokens) are too small to split well. A Seg-T/16
/// step of two images on two cores as two one-thread shards ran at 0.61–0.66 of the machine's peak against 0.45–0.60
/// for the batch on two threads (docs/performance.md).
/// <para>
/// The result does not depend on the number of shards beyond float rounding: each shard's loss is weighted by its share of
/// the batch's labelled pixels, so the shards' losses add up to the batch's mean; and each image's dropout and drop-path
/// masks come from a generator seeded for that image (<see cref="SampleRandomness"/>), whichever shard computes it.
/// </para>
/// </summary>
public sealed class ShardedStep : IDisposable
{
    private readonly SegmenterModel model;
    private readonly Parameter[] parameters;
    private readonly ShardThread[] threads;
    private readonly List<Generator> generators = new();
    private ShardTimes[] lastTimes = Array.Empty<ShardTimes>();

    /// <summary>A step for <paramref name="model"/> whose batches are split into at most <paramref name="shards"/> parts (1: no thread, the caller computes the batch).</summary>
    public ShardedStep(SegmenterModel model, int shards)
    {
        if (shards < 1) throw new ArgumentOutOfRangeException(nameof(shards), $"a step needs at least 1 shard, got {shards}");
        this.model = model;
        parameters = model.parameters().Where(p => p.requires_grad).ToArray();
        Shards = shards;
        if (shards == 1)
        {
            threads = Array.Empty<ShardThread>();
            return;
        }
        int restore = get_num_threads();
        threads = Enumerable.Range(0, shards).Select(i => new ShardThread($"segmenter shard {i}")).ToArray();
        // Each shard thread set libtorch to one thread for itself; the setting's process-wide default is the caller's again.
        set_num_threads(restore);
    }

    /// <summary>The largest number of parts a batch is split into.</summary>
    public int Shards { get; }

    /// <summary>
    /// Where each shard's time went in the last <see cref="Accumulate"/>, one entry per part the batch was split into (a part
    /// without labelled pixels is skipped and reports zeros). What a shard thread did not spend in these it spent idle,
    /// waiting for the slowest shard.
    /// </summary>
    public IReadOnlyList<ShardTimes> LastTimes => lastTimes;

    /// <summary>
    /// The shard count for batches of <paramref name="batch"/> images on <paramref name="device"/>: <paramref name="requested"/>
    /// (at most one shard per image) when positive; otherwise one per libtorch thread, up to the batch, on a CPU, and 1
    /// (libtorch's own parallelism) on other devices.
    /// </summary>
    public static int Count(int requested, Device device, int batch) =>
        requested > 0 ? Math.Min(requested, Math.Max(1, batch))
        : device.type == DeviceType.CPU ? Math.Max(1, Math.Min(batch, get_num_threads())) : 1;

    /// <summary>
    /// The training loss of <paramref name="images"/> [B, 3, H, W] against <paramref name="labels"/> [B, H, W] (the mean
    /// cross-entropy over labelled pixels) times <paramref name="scale"/>; its gradients are added to the parameters'
    /// <c>.grad</c>. Image i's random masks come from a generator seeded with <paramref name="sampleSeeds"/>[i]. Returns
    /// the scaled loss; null when no pixel is labelled (and nothing is added).
    /// </summary>
    public double? Accumulate(Tensor images, Tensor labels, double scale, IReadOnlyList<long> sampleSeeds)
    {
        long batch = images.shape[0];
        if (sampleSeeds.Count != batch) throw new ArgumentException($"{sampleSeeds.Count} seeds for a batch of {batch} images: give one per image");
        while (generators.Count < batch) generators.Add(new Generator(0));
        for (int i = 0; i < batch; i++) generators[i].manual_seed(sampleSeeds[i]);

        int shards = (int)Math.Min(Shards, batch);
        var ranges = Enumerable.Range(0, shards).Select(s => (Start: batch * s / shards, End: batch * (s + 1) / shards)).ToArray();
        lastTimes = ranges.Select(r => new ShardTimes(r.End - r.Start, 0, 0, 0, 0, ComputeCpuMs: 0)).ToArray();   // a shard that is not run computes nothing
        var labelled = ranges.Select(r => Labelled(labels, r.Start, r.End)).ToArray();
        long total = labelled.Sum();
        if (total == 0) return null;
        if (shards == 1) return Shard(images, labels, 0, 0, batch, scale, new Turn(), 0);   // on this thread, libtorch's threads splitting each product

        EnsureGradients();
        var losses = new double[shards];
        var running = Enumerable.Range(0, shards).Where(s => labelled[s] > 0).ToArray();   // no labelled pixel: no loss and no gradient from those images
        var turn = new Turn();
        for (int place = 0; place < running.Length; place++)
        {
            int shard = running[place], order = place;
            var (start, end) = ranges[shard];
            double weight = scale * labelled[shard] / total;
            threads[shard].Start(() => losses[shard] = Shard(images, labels, shard, start, end, weight, turn, order));
        }
        var errors = running.Select(shard => threads[shard].Wait()).OfType<Exception>().ToList();
        if (errors.Count > 0) ExceptionDispatchInfo.Capture(errors[0]).Throw();   // as the batch in one pass would have thrown it
        return losses.Sum();
    }

    /// <summary>
    /// Images [start, end) on a shard thread (or the whole batch on the caller's): their weighted loss, whose gradients the thread adds to the parameters'
    /// <c>.grad</c> when its <paramref name="turn"/> comes (shards add in order, so a run repeats exactly), then frees.
    /// A shard that fails still takes its turn, so that the others finish. Its times go to <see cref="LastTimes"/>[<paramref name="index"/>].
    /// </summary>
    private double Shard(Tensor images, Tensor labels, int index, long start, long end, double weight, Turn turn, int order)
    {
        using var scope = NewDisposeScope();
        IList<Tensor>? gradients = null;
        double loss = 0;
        var clock = Stopwatch.StartNew();
        var processorTime = ThreadCpuClock.Now();
        TimeSpan forward = default, backward = default;
        try
        {
            using var randomness = SampleRandomness.Use(generators.Skip((int)start).Take((int)(end - start)).ToArray());
            var value = UpsampledCrossEntropy.Of(model, images.narrow(0, start, end - start), labels.narrow(0, start, end - start), Inference.Imaging.LabelMap.Ignore)
                .mul_(Scalars.Of(weight));
            loss = value.item<float>();
            forward = clock.Elapsed;
            // The first shard's gradients go straight into .grad, where no other shard adds before it; the others are
            // taken apart (.grad untouched) and added in their turn.
            if (order == 0) value.backward();
            else gradients = autograd.grad(new[] { value }, parameters);
            backward = clock.Elapsed;
        }
        finally
        {
            if (backward == default) backward = clock.Elapsed;
            if (forward == default) forward = backward;
            double? computeCpuMs = ThreadCpuClock.Now() - processorTime is { } used ? used.TotalMilliseconds : null;
            turn.Await(order);
            var waited = clock.Elapsed;
            try
            {
                if (gradients is not null) AddGradients(gradients);
            }
            finally
            {
                turn.Pass();
                lastTimes[index] = new ShardTimes(end - start, forward.TotalMilliseconds, (backward - forward).TotalMilliseconds,
                    (waited - backward).TotalMilliseconds, (clock.Elapsed - waited).TotalMilliseconds, computeCpuMs);
            }
        }
        return loss;
    }

    /// <summary>Gives every parameter a <c>.grad</c> of its own, zero where it had none (autograd's results can be views, which <c>.grad</c> must not be).</summary>
    private void EnsureGradients()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var parameter in parameters)
            if (parameter.grad is null) parameter.grad = zeros_like(parameter);
    }

    private void AddGradients(IList<Tensor> gradients)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < parameters.Length; i++) parameters[i].grad!.PlusInPlace(gradients[i]);
    }

    private static long Labelled(Tensor labels, long start, long end)
    {
        using var scope = NewDisposeScope();
        return labels.narrow(0, start, end - start).ne(Scalars.Of((long)Inference.Imaging.LabelMap.Ignore)).sum().item<long>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var thread in threads) thread.Dispose();
        foreach (var generator in generators) generator.Dispose();
        generators.Clear();
    }

    /// <summary>Whose turn it is to add gradients: the shards in order.</summary>
    private sealed class Turn
    {
        private readonly object gate = new();
        private int current;

        public void Await(int order)
        {
            lock (gate)
                while (current != order) Monitor.Wait(gate);
        }

        public void Pass()
        {
            lock (gate)
            {
                current++;
                Monitor.PulseAll(gate);
            }
        }
    }

    /// <summary>A thread that runs libtorch at one thread and takes one piece of work at a time.</summary>
    private sealed class ShardThread : IDisposable
    {
        private readonly Thread thread;
        private readonly SemaphoreSlim work = new(0), done = new(0);
        private Action? action;
        private Exception? error;
        private bool stopping;

        public ShardThread(string name)
        {
            thread = new Thread(Loop) { IsBackground = true, Name = name };
            thread.Start();
            done.Wait();   // libtorch is set to one thread on it
        }

        public void Start(Action next)
        {
            action = next;
            error = null;
            work.Release();
        }

        /// <summary>Waits for the work given to <see cref="Start"/>; returns what it threw, if anything.</summary>
        public Exception? Wait()
        {
            done.Wait();
            return error;
        }

        private void Loop()
        {
            _ = get_num_threads();   // libtorch's per-thread setup first, so that the next call is not undone by it
            set_num_threads(1);
            done.Release();
            while (true)
            {
                work.Wait();
                if (stopping) return;
                try
                {
                    action!();
                }
                catch (Exception e)
                {
                    error = e;
                }
                done.Release();
            }
        }

        public void Dispose()
        {
            stopping = true;
            work.Release();
            thread.Join();
            work.Dispose();
            done.Dispose();
        }
    }
}
