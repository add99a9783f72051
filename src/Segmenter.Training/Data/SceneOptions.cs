namespace Segmenter.Training.Data;

/// <summary>Settings of synthetic scenes.</summary>
/// <param name="Classes">Classes including the background (class 0); at least 2.</param>
/// <param name="MinSize">Smallest image side.</param>
/// <param name="MaxSize">Largest image side.</param>
/// <param name="Seed">The scenes are a function of the seed and their index.</param>
public sealed record SceneOptions(int Classes = 5, int MinSize = 96, int MaxSize = 192, int Seed = 0);
