using System;
using System.Collections.Generic;

namespace Segmenter.Inference;

/// <summary>Inference settings. Sizes in pixels.</summary>
/// <param name="Mode">Whole, slide or multi-scale.</param>
/// <param name="WindowSize">Window side (the training crop size).</param>
/// <param name="WindowStride">Window stride.</param>
/// <param name="TestShortSide">If set, images are first rescaled keeping their aspect ratio so the short side is this (long side at most 4×), as mmsegmentation's test pipeline; multi-scale multiplies it by each scale.</param>
/// <param name="WindowBatch">Windows per forward pass.</param>
public sealed record InferenceOptions(InferenceMode Mode, int WindowSize, int WindowStride, int? TestShortSide = null, int WindowBatch = 4)
{
    /// <summary>The paper's multi-scale ratios.</summary>
    public static IReadOnlyList<double> Scales { get; } = new[] { 0.5, 0.75, 1.0, 1.25, 1.5, 1.75 };

    /// <summary>The mode every tool evaluates and predicts with unless told otherwise: the paper's sliding window.</summary>
    public const string DefaultMode = "slide";

    /// <summary>Options for a window (the training crop size), with the reference's stride of 2/3 of the window unless given.</summary>
    public static InferenceOptions ForWindow(InferenceMode mode, int window, int? stride = null, int? testShortSide = null)
    {
        var options = new InferenceOptions(mode, window, stride ?? Math.Max(1, window * 2 / 3), testShortSide);
        CheckWindow(options.WindowSize, options.WindowStride);
        if (testShortSide is { } side && (side < 1 || side > MaximumTestSize))
            throw new ArgumentException($"test size {side}: the short side images are rescaled to must be between 1 and {MaximumTestSize} pixels");
        return options;
    }

    /// <summary>The largest <see cref="TestShortSide"/> accepted (the long side may be 4 times that).</summary>
    public const int MaximumTestSize = 8192;

    /// <summary>The largest sliding window accepted.</summary>
    public const int MaximumWindow = 8192;

    /// <summary>
    /// Throws unless 1 ≤ stride ≤ window ≤ <see cref="MaximumWindow"/>: a stride larger than the window would leave the
    /// pixels between two windows without any prediction.
    /// </summary>
    public static void CheckWindow(int window, int stride)
    {
        if (window < 1 || window > MaximumWindow)
            throw new ArgumentException($"sliding window {window}: it must be between 1 and {MaximumWindow} pixels");
        if (stride < 1 || stride > window)
            throw new ArgumentException($"sliding-window stride {stride} with a window of {window}: the stride must be between 1 and the window " +
                                        "(a larger stride leaves the pixels between two windows without a prediction)");
    }

    /// <summary>Parses whole, slide or multiscale (also multi-scale, ms); an error naming the accepted values otherwise.</summary>
    public static InferenceMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "whole" => InferenceMode.Whole,
        "slide" => InferenceMode.Slide,
        "multiscale" or "multi-scale" or "ms" => InferenceMode.MultiScale,
        var other => throw new ArgumentException($"unknown inference mode '{other}': use whole, slide or multiscale"),
    };
}
