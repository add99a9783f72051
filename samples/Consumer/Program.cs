// A consumer of the Segmenter packages: the model class below is generated from specs/consumer.seg.
using Consumer;
using Segmenter.Export;
using Segmenter.Training.Data;
using Segmenter.Training;
using static TorchSharp.torch;

var work = Directory.CreateTempSubdirectory("segmenter-consumer-").FullName;
try
{
    Console.WriteLine($"{NarrowMask16.Spec.Name} ({NarrowMask16.Spec.PaperName}): width {NarrowMask16.Width}, {NarrowMask16.Heads} heads, " +
                      $"patch {NarrowMask16.PatchSize}, {NarrowMask16.NumClasses} classes, decoder layers {NarrowMask16.Spec.Decoder.Layers}");

    // A few training steps on synthetic scenes (nothing is downloaded).
    var data = Path.Combine(work, "data");
    SyntheticDatasetWriter.Write(data, DatasetLayout.Folder, trainCount: 16, valCount: 4,
        new SceneOptions(Classes: 21, MinSize: 64, MaxSize: 96));
    manual_seed(0);
    using var model = new NarrowMask16();
    var trainer = new Trainer(model, DatasetReader.Open(DatasetLayout.Folder, data, "train"), null,
        new TrainingOptions { Iterations = 4, BatchSize = 2, CropSize = 64, LearningRate = 0.01, OutputDirectory = Path.Combine(work, "run") }, CPU);
    var result = trainer.Run();
    Console.WriteLine($"trained {result.Iteration} steps: loss {result.Losses[0]:F3} → {result.Losses[^1]:F3}");

    // Export to ONNX and run it in ONNX Runtime against the model.
    var onnx = Path.Combine(work, "model.onnx");
    OnnxExporter.Save(OnnxExporter.Export(model), onnx);
    using var session = new OnnxSession(onnx);
    using var images = randn(2, 3, 70, 90);
    using var expected = model.Predict(images);
    using var actual = session.Run(images);
    var difference = actual.sub(expected).abs().max().item<float>();
    Console.WriteLine($"ONNX Runtime logits [{string.Join(", ", actual.shape)}], max |Δ| against TorchSharp = {difference:E2}");
    return difference <= 1e-4 ? 0 : 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}
