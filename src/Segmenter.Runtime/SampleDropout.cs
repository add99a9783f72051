namespace Segmenter.Runtime;

/// <summary>
/// Dropout (as <c>nn.Dropout</c>: in training, zeroes each element with probability <c>rate</c> and scales the rest by
/// 1 / (1 − rate)) whose masks come from <see cref="SampleRandomness"/>, so that a sample's mask does not depend on the
/// rest of its batch while a trainer gives one generator per sample. State-dict keys are those of <c>nn.Dropout</c>: none.
/// </summary>
public sealed class SampleDropout(double rate) : RandomDrop("dropout", rate, "dropout")
{
    /// <inheritdoc />
    protected override long[] MaskShape(TorchSharp.torch.Tensor x) => x.shape;
}
