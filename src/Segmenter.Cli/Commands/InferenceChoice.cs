using System;
using System.CommandLine;
using Segmenter.Spec;
using Segmenter.Inference;

namespace Segmenter.Cli.Commands;

/// <summary>The inference options of eval and predict: mode, window and stride, test scale.</summary>
internal sealed class InferenceChoice
{
    public Option<string> Mode { get; } = new("--mode") { Description = "whole, slide or multiscale (slide and flip at 0.5–1.75).", DefaultValueFactory = _ => InferenceOptions.DefaultMode };

    public Option<int?> Window { get; } = new("--window") { Description = "Sliding-window size (default: the model's training size)." };

    public Option<int?> Stride { get; } = new("--stride") { Description = "Sliding-window stride (default: 2/3 of the window)." };

    public Option<int?> TestSize { get; } = new("--test-size") { Description = "Rescale each image so its short side is this first (mmsegmentation's test resize); default: none." };

    public void AddTo(Command command)
    {
        command.Add(Mode);
        command.Add(Window);
        command.Add(Stride);
        command.Add(TestSize);
    }

    public InferenceOptions Read(ParseResult result, SegmenterSpec spec)
    {
        return InferenceOptions.ForWindow(InferenceOptions.ParseMode(result.GetValue(Mode)!),
            result.GetValue(Window) ?? Math.Min(spec.ImageHeight, spec.ImageWidth), result.GetValue(Stride), result.GetValue(TestSize));
    }
}
