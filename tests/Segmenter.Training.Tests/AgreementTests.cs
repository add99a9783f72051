using System;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Training.Data;
using Segmenter.Training.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Training.Tests;

/// <summary><see cref="DatasetEvaluation.Compare"/>: two predictors on the same images, with hand-made predictions.</summary>
public sealed class AgreementTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-agreement-");

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void Agreement_counts_every_pixel_and_each_side_gets_its_own_metrics()
    {
        var root = Path.Combine(folder.FullName, "scenes");
        SyntheticDatasetWriter.Write(root, DatasetLayout.Folder, 1, 3, new SceneOptions(Classes: 3, MinSize: 16, MaxSize: 24));
        var val = DatasetReader.Open(DatasetLayout.Folder, root, "val");
        var spec = SpecCompiler.Compile("""
            backbone B { layers = 1 width = 8 heads = 1 }
            model M { backbone = B patch = 8 image = 16 classes = 3 decoder = linear }
            """).Models.Single().Spec;

        // Class 0 everywhere, against class 0 in the left half and class 1 in the right half of each image.
        static Tensor Everywhere(Tensor image) => nn.functional.one_hot(zeros(image.shape[2], image.shape[3], dtype: ScalarType.Int64), 3).permute(2, 0, 1).unsqueeze(0).to(ScalarType.Float32);
        static Tensor Halves(Tensor image)
        {
            long height = image.shape[2], width = image.shape[3];
            var classes = new long[height * width];
            for (long i = 0; i < classes.Length; i++) classes[i] = i % width >= width - width / 2 ? 1 : 0;
            return nn.functional.one_hot(tensor(classes, new[] { height, width }), 3).permute(2, 0, 1).unsqueeze(0).to(ScalarType.Float32);
        }

        var alone = DatasetEvaluation.Compare(Everywhere, null, spec, val);
        Assert.Null(alone.BaselineMetrics);
        Assert.Equal(0, alone.Pixels);

        var itself = DatasetEvaluation.Compare(Everywhere, Everywhere, spec, val);
        Assert.Equal(itself.Metrics, itself.BaselineMetrics! with { Classes = itself.Metrics.Classes });
        Assert.Equal(1.0, itself.Share);

        var halves = DatasetEvaluation.Compare(Everywhere, Halves, spec, val);
        long pixels = 0, agreeing = 0;
        for (int i = 0; i < val.Count; i++)
        {
            var (_, labels) = val.Load(i);
            pixels += (long)labels.Width * labels.Height;
            agreeing += (long)(labels.Width - labels.Width / 2) * labels.Height;
        }
        Assert.Equal(pixels, halves.Pixels);
        Assert.Equal(agreeing, halves.AgreeingPixels);
        Assert.Equal(alone.Metrics.MeanIoU, halves.Metrics.MeanIoU);
        Assert.NotEqual(halves.Metrics.MeanIoU, halves.BaselineMetrics!.MeanIoU);
    }
}
