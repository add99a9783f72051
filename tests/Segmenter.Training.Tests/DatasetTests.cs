using System;
using System.IO;
using System.Linq;
using Segmenter.Training.Data;
using Segmenter.Inference.Imaging;
using Xunit;

namespace Segmenter.Training.Tests;

/// <summary>The dataset readers on tiny trees in each layout, and their errors.</summary>
public sealed class DatasetTests : IDisposable
{
    private readonly DirectoryInfo temporary = Directory.CreateTempSubdirectory("segmenter-datasets-");
    private static readonly SceneOptions Scenes = new(Classes: 4, MinSize: 32, MaxSize: 48, Seed: 5);

    public void Dispose() => temporary.Delete(recursive: true);

    private string Write(DatasetLayout layout, bool palette = false)
    {
        var root = Path.Combine(temporary.FullName, layout + (palette ? "-palette" : ""));
        SyntheticDatasetWriter.Write(root, layout, trainCount: 3, valCount: 2, Scenes, palette);
        return root;
    }

    [Theory]
    [InlineData(DatasetLayout.Folder, 4)]
    [InlineData(DatasetLayout.Ade20k, 150)]
    [InlineData(DatasetLayout.Cityscapes, 19)]
    [InlineData(DatasetLayout.PascalContext, 60)]
    public void Each_layout_is_read_with_its_splits_classes_and_labels(DatasetLayout layout, int classes)
    {
        var root = Write(layout);
        var train = DatasetReader.Open(layout, root, "train");
        var val = DatasetReader.Open(layout, root, "val");
        Assert.Equal((3, 2, classes), (train.Count, val.Count, train.NumClasses));
        for (int i = 0; i < train.Count; i++)
        {
            var (image, labels) = train.Load(i);
            // Cityscapes files sort by city, not by scene: the scene's index is the last number of the name.
            int scene = layout == DatasetLayout.Cityscapes ? int.Parse(Path.GetFileName(train.Samples[i].ImagePath).Split('_')[2]) : i;
            var (_, expected) = SyntheticScenes.Generate(scene, Scenes);
            Assert.Equal((expected.Width, expected.Height), (image.Width, image.Height));
            // Layouts that mark a border as unlabelled (ADE20K "other", Cityscapes 255) ignore it; inside, labels are exact.
            for (int p = 0; p < labels.Labels.Length; p++)
            {
                if (labels.Labels[p] != LabelMap.Ignore) Assert.Equal(expected.Labels[p], labels.Labels[p]);
            }
            if (layout is DatasetLayout.Ade20k or DatasetLayout.Cityscapes) Assert.Equal(LabelMap.Ignore, labels.Labels[0]);
        }
    }

    /// <summary>
    /// Cityscapes as downloaded has label ids (0–33), not the 19 train ids that mmsegmentation's conversion writes: such a
    /// tree is read with each id mapped to its train id (road 7 → 0 … bicycle 33 → 18; parking, rail track and the other
    /// ids not evaluated → ignore), and gives the same labels as the converted tree. A value that is no label id is refused.
    /// </summary>
    [Fact]
    public void Cityscapes_label_ids_are_read_as_train_ids()
    {
        var root = Write(DatasetLayout.Cityscapes);
        var converted = DatasetReader.Open(DatasetLayout.Cityscapes, root, "train");
        var expected = Enumerable.Range(0, converted.Count).Select(i => converted.Load(i).Labels.Labels).ToList();
        byte[] evaluatedIds = { 7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33 };
        foreach (var sample in converted.Samples)
        {
            var trainIds = ImageFiles.ReadLabels(sample.LabelPath);
            // Ignored pixels become "unlabeled" (0) or, every third one, "parking" (9): neither is a class.
            var ids = trainIds.Labels.Select((v, p) => v == LabelMap.Ignore ? (byte)(p % 3 == 0 ? 9 : 0) : evaluatedIds[v]).ToArray();
            ImageFiles.WriteLabelPng(sample.LabelPath.Replace("_gtFine_labelTrainIds.png", "_gtFine_labelIds.png"), new LabelMap(trainIds.Width, trainIds.Height, ids));
        }
        // With both beside each image, the train ids are read.
        Assert.EndsWith("_gtFine_labelTrainIds.png", DatasetReader.Open(DatasetLayout.Cityscapes, root, "train").Samples[0].LabelPath);

        File.Delete(converted.Samples[1].LabelPath);
        var downloaded = DatasetReader.Open(DatasetLayout.Cityscapes, root, "train");
        Assert.All(downloaded.Samples, s => Assert.EndsWith("_gtFine_labelIds.png", s.LabelPath));
        for (int i = 0; i < downloaded.Count; i++) Assert.Equal(expected[i], downloaded.Load(i).Labels.Labels);

        // Every id, 0 to 33, in one file.
        var first = downloaded.Samples[0].LabelPath;
        var labels = ImageFiles.ReadLabels(first);
        for (int p = 0; p < labels.Labels.Length; p++) labels.Labels[p] = (byte)(p % 34);
        ImageFiles.WriteLabelPng(first, labels);
        var mapped = downloaded.Load(0).Labels.Labels;
        for (int p = 0; p < mapped.Length; p++)
        {
            int trainId = Array.IndexOf(evaluatedIds, (byte)(p % 34));
            Assert.Equal(trainId < 0 ? LabelMap.Ignore : (byte)trainId, mapped[p]);
        }

        labels.Labels[5] = 34;
        ImageFiles.WriteLabelPng(first, labels);
        Assert.Contains("label value 34 at pixel (5, 0) is not one of the 19 classes", Assert.Throws<DatasetException>(() => downloaded.Load(0)).Message);

        File.Delete(downloaded.Samples[2].LabelPath);
        var missing = Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Cityscapes, root, "train")).Message;
        Assert.Contains("_gtFine_labelTrainIds.png, or a _gtFine_labelIds.png beside every image", missing);
    }

    [Fact]
    public void Palette_label_files_give_their_indices_not_their_colours()
    {
        var grey = DatasetReader.Open(DatasetLayout.Folder, Write(DatasetLayout.Folder), "train");
        var palette = DatasetReader.Open(DatasetLayout.Folder, Write(DatasetLayout.Folder, palette: true), "train");
        for (int i = 0; i < grey.Count; i++) Assert.Equal(grey.Load(i).Labels.Labels, palette.Load(i).Labels.Labels);
        Assert.True(IndexedPng.TryRead(palette.Samples[0].LabelPath, out var labels));
        Assert.Contains(labels!.Labels, v => v > 0);
        // Decoded as an image, the same file shows colours (the VOC palette), not indices.
        Assert.Contains(ImageFiles.ReadRgb(palette.Samples[0].LabelPath).Pixels, v => v > 3);
    }

    [Fact]
    public void A_missing_label_file_is_named()
    {
        var root = Write(DatasetLayout.Folder);
        File.Delete(Path.Combine(root, "labels", "train", "00001.png"));
        var error = Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Folder, root, "train"));
        Assert.Contains("00001.png: no label file (expected", error.Message);
    }

    [Fact]
    public void Two_images_of_one_name_are_refused_rather_than_both_paired_with_its_label()
    {
        var root = Write(DatasetLayout.Folder);
        var images = Path.Combine(root, "images", "train");
        var first = Directory.GetFiles(images).Order(StringComparer.Ordinal).First();
        var twin = Path.ChangeExtension(first, Path.GetExtension(first) == ".png" ? ".jpg" : ".png");
        File.Copy(first, twin);
        var error = Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Folder, root, "train"));
        Assert.Contains($"both pair with {Path.Combine(root, "labels", "train", Path.GetFileNameWithoutExtension(first) + ".png")}: one image per name", error.Message);
    }

    [Fact]
    public void Size_mismatches_unreadable_files_and_out_of_range_labels_are_named()
    {
        var root = Write(DatasetLayout.Folder);
        var dataset = DatasetReader.Open(DatasetLayout.Folder, root, "train");

        ImageFiles.WriteLabelPng(dataset.Samples[0].LabelPath, new LabelMap(7, 5, new byte[35]));
        Assert.Contains("the labels are 7×5 but the image", Assert.Throws<DatasetException>(() => dataset.Load(0)).Message);
        // ... found from the headers, before either is decoded: the image's data cut in half does not change the answer.
        using (var stream = File.Open(dataset.Samples[0].ImagePath, FileMode.Open)) stream.SetLength(stream.Length / 2);
        Assert.Contains("the labels are 7×5 but the image", Assert.Throws<DatasetException>(() => dataset.Load(0)).Message);

        File.WriteAllText(dataset.Samples[1].ImagePath, "not an image");
        Assert.Contains("unreadable image", Assert.Throws<DatasetException>(() => dataset.Load(1)).Message);

        var (image, _) = SyntheticScenes.Generate(2, Scenes);
        ImageFiles.WriteLabelPng(dataset.Samples[2].LabelPath, new LabelMap(image.Width, image.Height, Enumerable.Repeat((byte)9, image.Width * image.Height).ToArray()));
        var range = Assert.Throws<DatasetException>(() => dataset.Load(2)).Message;
        Assert.Contains("label value 9 at pixel (0, 0) is not one of the 4 classes (0–3) or ignore (255)", range);
        Assert.Contains(dataset.Samples[2].LabelPath, range);
    }

    [Fact]
    public void An_empty_split_says_what_the_layout_expects()
    {
        var root = Write(DatasetLayout.Cityscapes);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "leftImg8bit", "val"), "*.png", SearchOption.AllDirectories)) File.Delete(file);
        var error = Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Cityscapes, root, "val")).Message;
        Assert.Contains("no val samples found in the cityscapes layout, which expects leftImg8bit/val/<city>/*_leftImg8bit.png with gtFine/val/<city>/*_gtFine_labelTrainIds.png", error);
    }

    [Fact]
    public void Colour_label_images_are_refused_rather_than_guessed()
    {
        var root = Write(DatasetLayout.Folder);
        var dataset = DatasetReader.Open(DatasetLayout.Folder, root, "val");
        var (image, _) = dataset.Load(0);
        ImageFiles.WritePng(dataset.Samples[0].LabelPath, image);
        Assert.Contains("must be an 8-bit greyscale or a palette (indexed) PNG", Assert.Throws<DatasetException>(() => dataset.Load(0)).Message);
    }

    [Fact]
    public void Missing_folders_and_lists_say_what_the_layout_expects()
    {
        var empty = Directory.CreateDirectory(Path.Combine(temporary.FullName, "empty")).FullName;
        Assert.Contains("ADEChallengeData2016/images/training", Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Ade20k, empty, "train")).Message);
        Assert.Contains("SegmentationContext/train.txt", Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.PascalContext, empty, "train")).Message);
        Assert.Contains("classes.txt", Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Folder, empty, "train")).Message);
        Assert.Throws<ArgumentException>(() => DatasetLayouts.Parse("coco"));
        // Text that is not UTF-8 (Latin-1's "é") is refused naming the byte, never read as U+FFFD.
        File.WriteAllBytes(Path.Combine(empty, "classes.txt"), new byte[] { (byte)'b', (byte)'a', (byte)'c', (byte)'k', 0xe9, (byte)'\n' });
        Assert.Contains("classes.txt: not UTF-8 text (byte 0xe9 at offset 4); save it as UTF-8",
            Assert.Throws<DatasetException>(() => DatasetReader.Open(DatasetLayout.Folder, empty, "train")).Message);
    }

    [Fact]
    public void Synthetic_scenes_are_a_function_of_seed_and_index()
    {
        var (a, la) = SyntheticScenes.Generate(7, Scenes);
        var (b, lb) = SyntheticScenes.Generate(7, Scenes);
        var (c, _) = SyntheticScenes.Generate(8, Scenes);
        Assert.Equal(a.Pixels, b.Pixels);
        Assert.Equal(la.Labels, lb.Labels);
        Assert.NotEqual(a.Pixels.Length == c.Pixels.Length ? a.Pixels : null, c.Pixels);
        Assert.True(la.Labels.Distinct().Count() >= 2);
    }
}
