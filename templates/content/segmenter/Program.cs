// MyModel is generated from specs/my-model.seg at build time (see obj/generated for its C#).
using Models;
using Segmenter.Export;
using Segmenter.Training.Data;
using Segmenter.Inference;
using Segmenter.Training;
using static TorchSharp.torch;

var work = Path.Combine(Environment.CurrentDirectory, "output");
Console.WriteLine($"{MyModel.Spec.Name}: {MyModel.Layers} layers, width {MyModel.Width}, patch {MyModel.PatchSize}, {MyModel.NumClasses} classes");

// 1. Data: synthetic scenes with exact labels, in the plain folder layout (nothing is downloaded).
var data = Path.Combine(work, "data");
if (!File.Exists(Path.Combine(data, "classes.txt")))
    SyntheticDatasetWriter.Write(data, DatasetLayout.Folder, trainCount: 120, valCount: 12, new SceneOptions(Classes: MyModel.NumClasses));
var train = DatasetReader.Open(DatasetLayout.Folder, data, "train");
var validation = DatasetReader.Open(DatasetLayout.Folder, data, "val");

// 2. Training with the paper's recipe (SGD with Nesterov momentum, poly schedule, mmsegmentation augmentation).
manual_seed(0);
using var model = new MyModel();
var options = new TrainingOptions
{
    Iterations = 150,
    BatchSize = 8,
    CropSize = MyModel.ImageHeight,
    LearningRate = 0.01,
    OutputDirectory = Path.Combine(work, "run"),
    Overwrite = true,   // each run of this example trains afresh (without it, a folder holding a run is refused: resume it instead)
    Evaluation = new InferenceOptions(InferenceMode.Slide, MyModel.ImageHeight, MyModel.ImageHeight * 2 / 3),
};
var trainer = new Trainer(model, train, validation, options, CPU);
trainer.Progress += p => { if (p.Iteration % 25 == 0) Console.WriteLine($"step {p.Iteration}/{p.Iterations}  loss {p.Loss:F3}  {p.ImagesPerSecond:F1} img/s"); };
var result = trainer.Run();

// 3. Evaluation (aAcc, mIoU, mAcc over the validation split).
var metrics = result.LastMetrics!;
foreach (var c in metrics.Classes) Console.WriteLine($"  {c.Name,-12} IoU {100 * c.IoU,6:F2}  Acc {100 * c.Accuracy,6:F2}");
Console.WriteLine($"aAcc {100 * metrics.PixelAccuracy:F2}  mIoU {100 * metrics.MeanIoU:F2}  mAcc {100 * metrics.MeanAccuracy:F2}");

// 4. ONNX export (dynamic batch and size), then ONNX Runtime against the model.
var onnx = Path.Combine(work, "my-model.onnx");
OnnxExporter.Save(OnnxExporter.Export(model, new OnnxExportOptions { Labels = true }), onnx);
using var session = new OnnxSession(onnx);
using var images = randn(2, 3, 100, 140);
using var expected = model.Predict(images);
using var actual = session.Run(images);
var difference = actual.sub(expected).abs().max().item<float>();
Console.WriteLine($"{onnx}: ONNX Runtime logits [{string.Join(", ", actual.shape)}], max |Δ| against the model {difference:E2}");
Console.WriteLine($"Checkpoints: {trainer.BestCheckpoint}. Next: add a model to specs/my-model.seg and build again.");
return difference <= 1e-4 ? 0 : 1;
