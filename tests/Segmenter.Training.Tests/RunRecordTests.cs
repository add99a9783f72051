using System;
using System.IO;
using System.Linq;
using Segmenter.Training.Evaluation;
using Segmenter.Training.Records;
using Xunit;

namespace Segmenter.Training.Tests;

/// <summary>metrics.jsonl as a run writes, resumes and reads it, and the rate and ETA shown with progress.</summary>
public sealed class RunRecordTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-record-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void A_resumed_run_keeps_the_lines_up_to_its_checkpoint_and_appends()
    {
        var record = new RunRecord(folder.FullName);
        record.Start(0);
        for (int step = 1; step <= 5; step++) record.Step(step, 1.0 / step, 0.01, 12.5);
        record.Evaluation(4, new SegmentationMetrics(0.9, double.NaN, 0.8, new[] { new ClassMetric("sky", 0.7, 0.9), new ClassMetric("absent", double.NaN, double.NaN) }, 100));
        File.AppendAllText(record.MetricsPath, "{\"step\":6,\"lo");   // a run killed while writing a line

        Assert.Equal(6, RunRecord.Read(record.MetricsPath).Count);   // the cut line is left out
        record.Start(4);   // resumed from the checkpoint of step 4: steps 5 and later are done again
        record.Step(5, 0.3, 0.005, 11);
        var lines = RunRecord.Read(record.MetricsPath);
        Assert.Equal(new[] { 1, 2, 3, 4, 4, 5 }, lines.Select(l => (int)l["step"]!));
        var evaluation = lines.Single(l => l.ContainsKey("mIoU"));
        Assert.Null(evaluation["mIoU"]);   // not finite: null, as the PyTorch engine writes it
        Assert.Equal(0.7, (double)evaluation["IoU"]!["sky"]!);
        Assert.Null(evaluation["IoU"]!["absent"]);

        record.Start(0);   // a new run (--overwrite) starts an empty log
        Assert.Empty(RunRecord.Read(record.MetricsPath));
    }

    [Theory]
    [InlineData(42, "42s")]
    [InlineData(342, "05:42")]
    [InlineData(3 * 3600 + 342, "3:05:42")]
    [InlineData(66 * 86400 + 5 * 3600 + 342, "66d 05:05:42")]
    public void Durations_show_days(long seconds, string expected) =>
        Assert.Equal(expected, RateWindow.Format(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void The_rate_is_unknown_until_there_is_work_and_then_estimates_what_is_left()
    {
        var rate = new RateWindow();
        Assert.Equal(0, rate.PerSecond);
        Assert.Null(rate.Remaining(10));
        Assert.Equal("?", RateWindow.Format(rate.Remaining(10)));
        System.Threading.Thread.Sleep(50);
        rate.Observe(5);
        Assert.True(rate.PerSecond > 0);
        Assert.True(rate.Remaining(10) > TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, rate.Remaining(5));
    }
}
