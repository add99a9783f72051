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
    public static InferenceOptions ForWindow(InferenceMode mode, int window, int? stride = null, int? testShortSide = null) =>
        new(mode, window, stride ?? Math.Max(1, window * 2 / 3), testShortSide);

    /// <summary>Parses whole, slide or multiscale (also multi-scale, ms); an error naming the accepted values otherwise.</summary>
    public static InferenceMode ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "whole" => InferenceMode.Whole,
        "slide" => InferenceMode.Slide,
        "multiscale" or "multi-scale" or "ms" => InferenceMode.MultiScale,
        var other => throw new ArgumentException($"unknown inference mode '{other}': use whole, slide or multiscale"),
    };
}
