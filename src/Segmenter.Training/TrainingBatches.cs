using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Segmenter.Spec;
using Segmenter.Training.Augmentation;
using Segmenter.Training.Data;
using static TorchSharp.torch;

namespace Segmenter.Training;

/// <summary>
/// Training batches, decoded and augmented in background workers with prefetch. Batch i is a pure
/// function of the seed and i: the sample order is a per-epoch shuffle of the seed, and each sample's
/// augmentation has its own seed; so a run resumed at iteration i sees exactly the batches an
/// uninterrupted run would, however the workers are scheduled.
/// </summary>
public sealed class TrainingBatches : IDisposable
{
    private readonly SegmentationDataset dataset;
    private readonly AugmentationOptions augmentation;
    private readonly NormalizationSpec normalization;
    private readonly int batchSize;
    private readonly int seed;
    private readonly bool skipBadSamples;
    private readonly SemaphoreSlim workers;
    private readonly int prefetch;
    private readonly Queue<Task<(float[] Images, byte[] Labels, List<string>? Skipped)>> pending = new();
    private readonly Dictionary<long, int[]> orders = new();
    private long nextToSchedule;
    private int skipped;
    private readonly List<string> skipReasons = new();

    /// <summary>Starts producing batches from <paramref name="firstBatch"/> on.</summary>
    public TrainingBatches(SegmentationDataset dataset, AugmentationOptions augmentation, NormalizationSpec normalization, int batchSize, int seed,
        long firstBatch = 0, int workers = 2, int prefetch = 4, bool skipBadSamples = false)
    {
        this.dataset = dataset;
        this.augmentation = augmentation;
        this.normalization = normalization;
        this.batchSize = batchSize;
        this.seed = seed;
        this.skipBadSamples = skipBadSamples;
        this.workers = new SemaphoreSlim(Math.Max(1, workers));
        this.prefetch = Math.Max(1, prefetch);
        nextToSchedule = firstBatch;
        for (int i = 0; i < this.prefetch; i++) Schedule();
    }

    /// <summary>Samples skipped because they could not be used (with skipBadSamples), in the batches returned so far.</summary>
    public int SkippedSamples => skipped;

    /// <summary>Why they were skipped: each distinct error (it names the file) once, in the order first met.</summary>
    public IReadOnlyList<string> SkipReasons => skipReasons;

    /// <summary>The next batch: normalised images [B, 3, S, S] (float32) and labels [B, S, S] (int64, 255 ignored).</summary>
    public (Tensor Images, Tensor Labels) Next()
    {
        var (images, labels, skippedHere) = pending.Dequeue().GetAwaiter().GetResult();
        Schedule();
        if (skippedHere is not null)   // counted as its batch is used: a prefetched batch never trained on counts nothing
        {
            skipped += skippedHere.Count;
            foreach (var reason in skippedHere)
                if (!skipReasons.Contains(reason)) skipReasons.Add(reason);
        }
        int s = augmentation.CropSize;
        var imageTensor = tensor(images, new long[] { batchSize, 3, s, s });
        using var labelBytes = tensor(labels, new long[] { batchSize, s, s }, ScalarType.Byte);
        return (imageTensor, labelBytes.to(ScalarType.Int64));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var task in pending)
        {
            try { task.Wait(); } catch (AggregateException) { }
        }
        workers.Dispose();
    }

    private void Schedule()
    {
        long batch = nextToSchedule++;
        pending.Enqueue(Task.Run(async () =>
        {
            await workers.WaitAsync().ConfigureAwait(false);
            try
            {
                return Build(batch);
            }
            finally
            {
                workers.Release();
            }
        }));
    }

    private (float[], byte[], List<string>?) Build(long batch)
    {
        int s = augmentation.CropSize;
        var images = new float[batchSize * 3 * s * s];
        var labels = new byte[batchSize * s * s];
        List<string>? skippedHere = null;
        for (int j = 0; j < batchSize; j++)
        {
            long position = batch * batchSize + j;
            var sample = LoadWithRetries(position, ref skippedHere);
            var random = new Random(Seeds.Mix(seed, batch, j));
            var augmented = TrainAugmentation.Apply(sample.Image, sample.Labels, augmentation, normalization, random);
            Array.Copy(augmented.Image, 0, images, j * 3 * s * s, 3 * s * s);
            Array.Copy(augmented.Labels, 0, labels, j * s * s, s * s);
        }
        return (images, labels, skippedHere);
    }

    private (Segmenter.Inference.Imaging.RgbImage Image, Segmenter.Inference.Imaging.LabelMap Labels) LoadWithRetries(long position, ref List<string>? skippedHere)
    {
        for (int attempt = 0; ; attempt++)
        {
            int index = SampleAt(position + attempt);
            try
            {
                return dataset.Load(index);
            }
            catch (DatasetException e) when (skipBadSamples && attempt < dataset.Count)
            {
                (skippedHere ??= new List<string>()).Add(e.Message);
            }
        }
    }

    /// <summary>The dataset index at a position of the endless stream of per-epoch shuffles.</summary>
    private int SampleAt(long position)
    {
        long epoch = position / dataset.Count;
        int[] order;
        lock (orders)
        {
            if (!orders.TryGetValue(epoch, out order!))
            {
                order = Enumerable.Range(0, dataset.Count).ToArray();
                new Random(Seeds.Mix(seed, epoch, 0xE90C)).Shuffle(order);
                orders[epoch] = order;
                foreach (var old in orders.Keys.Where(k => k < epoch - 1).ToList()) orders.Remove(old);
            }
        }
        return order[(int)(position % dataset.Count)];
    }
}
