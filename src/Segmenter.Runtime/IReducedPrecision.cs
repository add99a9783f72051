namespace Segmenter.Runtime;

/// <summary>A module whose matrix products can run in a reduced precision (see <see cref="SegmenterModel.SetPrecision"/>).</summary>
internal interface IReducedPrecision
{
    /// <summary>Sets the precision of the module's products (again to refresh an inference copy of its weights).</summary>
    void SetPrecision(ComputePrecision precision);
}
