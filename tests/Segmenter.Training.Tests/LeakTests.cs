using System;
using System.IO;
using System.Linq;
using Segmenter.Export;
using Segmenter.Training.Data;
using Segmenter.Inference;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Segmenter.Tooling;
using Segmenter.Tests;

namespace Segmenter.Training.Tests;

/// <summary>Nothing leaks: live tensors and resident memory stay flat over many inferences and training steps.</summary>
public sealed class LeakTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-leaks-");

    public void Dispose() => temporary.Delete(recursive: true);

    private static long Rss() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;

    [Fact]
    public void Two_hundred_inferences_leave_no_tensors_and_no_memory_behind()
    {
        using var model = TestModels.Get("TinyMask").Create(null);
        using var images = randn(2, 3, 48, 56);
        for (int i = 0; i < 20; i++) model.Predict(images).Dispose();
        var statistics = DisposeScopeManager.Statistics;
        statistics.Reset();
        GC.Collect();
        long before = Rss();
        for (int i = 0; i < 200; i++) model.Predict(images).Dispose();
        GC.Collect();
        Assert.Equal(0, statistics.ThreadTotalLiveCount);
        Assert.InRange(Rss() - before, long.MinValue, 16L << 20);
    }

    [Fact]
    public void Sliding_window_inference_leaves_no_tensors_behind()
    {
        using var model = TestModels.Get("TinyLinear").Create(null);
        using var image = randn(1, 3, 70, 90);
        var options = new InferenceOptions(InferenceMode.MultiScale, 32, 20);
        SegmentationInference.Probabilities(model, image, options).Dispose();
        var statistics = DisposeScopeManager.Statistics;
        statistics.Reset();
        for (int i = 0; i < 5; i++) SegmentationInference.Probabilities(model, image, options).Dispose();
        Assert.Equal(0, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Loading_a_reference_checkpoint_keeps_no_tensor_alive()
    {
        var directory = Path.GetDirectoryName(TestPaths.Fixture("micro-mask", "variant.yml"))!;
        using var model = ModelResolver.Resolve(directory).Create(null);
        var statistics = DisposeScopeManager.Statistics;
        statistics.Reset();
        Segmenter.Runtime.Checkpoints.CheckpointLoader.Load(model, Path.Combine(directory, "checkpoint.pth"));
        Assert.Equal(0, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Fifty_training_steps_keep_the_live_tensor_count_and_memory_flat()
    {
        var root = Path.Combine(temporary.FullName, "data");
        SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, 12, 0, new SceneOptions(Classes: 5, MinSize: 48, MaxSize: 64));
        using var model = TestModels.Get("TinyMask").Create(null);
        var options = new TrainingOptions { Iterations = 50, BatchSize = 2, CropSize = 32, LearningRate = 0.01, CheckpointEvery = 1000, OutputDirectory = Path.Combine(temporary.FullName, "run") };
        var trainer = new Trainer(model, DatasetReader.Open(DatasetLayout.Folder, root, "train"), null, options, CPU);
        var live = new long[51];
        var rss = new long[51];
        trainer.Progress += p =>
        {
            if (p.Iteration != 10 && p.Iteration != 50) return;
            GC.Collect();
            live[p.Iteration] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            rss[p.Iteration] = Rss();
        };
        using (var crop = torch.zeros(2, 3, 32, 32))
        using (torch.no_grad())
            model.forward(crop).Dispose();   // fills the upsampling-matrix cache, which lives as long as the process, before counting
        DisposeScopeManager.Statistics.Reset();
        trainer.Run();
        Assert.True(live[10] > 0);   // the momentum buffers
        Assert.Equal(live[10], live[50]);
        Assert.InRange(rss[50] - rss[10], long.MinValue, 32L << 20);
        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount);   // and the optimiser frees them at the end
    }

    [Fact]
    public void Two_hundred_onnx_runs_keep_memory_flat()
    {
        using var model = TestModels.Get("TinyLinear").Create(null);
        var path = Path.Combine(temporary.FullName, "tiny.onnx");
        OnnxExporter.Save(OnnxExporter.Export(model), path);
        using var session = new OnnxSession(path);
        using var images = randn(1, 3, 40, 48);
        for (int i = 0; i < 20; i++) session.Run(images).Dispose();
        GC.Collect();
        long before = Rss();
        for (int i = 0; i < 200; i++) session.Run(images).Dispose();
        GC.Collect();
        Assert.InRange(Rss() - before, long.MinValue, 16L << 20);
    }
}
