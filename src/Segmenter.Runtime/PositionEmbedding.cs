using Segmenter.Spec;
using TorchSharp;
using static TorchSharp.torch;

namespace Segmenter.Runtime;

/// <summary>Position-embedding resampling, as the reference's <c>resize_pos_embed</c>.</summary>
public static class PositionEmbedding
{
    /// <summary>
    /// <paramref name="posEmbed"/> [1, E + fromH·fromW, D] for a grid of toH × toW: the E extra rows
    /// are kept, the grid part is interpolated (align_corners = false). Returned as is when the grid
    /// is unchanged.
    /// </summary>
    public static Tensor Resample(Tensor posEmbed, int extraTokens, long fromHeight, long fromWidth, long toHeight, long toWidth, ResizeMode mode)
    {
        if (fromHeight == toHeight && fromWidth == toWidth) return posEmbed;
        long width = posEmbed.shape[2];
        var tokens = posEmbed.narrow(1, 0, extraTokens);
        var grid = posEmbed.narrow(1, extraTokens, fromHeight * fromWidth)
            .reshape(1, fromHeight, fromWidth, width)
            .permute(0, 3, 1, 2);                                                        // [1, D, fromH, fromW]
        grid = nn.functional.interpolate(grid, new[] { toHeight, toWidth },
            mode: mode == ResizeMode.Bicubic ? InterpolationMode.Bicubic : InterpolationMode.Bilinear,
            align_corners: false);                                                        // [1, D, toH, toW]
        grid = grid.permute(0, 2, 3, 1).reshape(1, toHeight * toWidth, width);
        return torch.cat(new[] { tokens, grid }, 1);
    }
}
