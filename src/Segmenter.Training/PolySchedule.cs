using System;

namespace Segmenter.Training;

/// <summary>The paper's learning-rate schedule, per iteration: lr = (lr0 − lrMin)(1 − it / itMax)^power + lrMin.</summary>
/// <param name="BaseRate">lr0.</param>
/// <param name="Iterations">itMax.</param>
/// <param name="MinimumRate">lrMin (1e-5 in the paper).</param>
/// <param name="Power">0.9 in the paper.</param>
public sealed record PolySchedule(double BaseRate, int Iterations, double MinimumRate = 1e-5, double Power = 0.9)
{
    /// <summary>The learning rate at <paramref name="iteration"/> (0-based).</summary>
    public double At(int iteration) =>
        (BaseRate - MinimumRate) * Math.Pow(1 - Math.Min(iteration, Iterations) / (double)Iterations, Power) + MinimumRate;
}
