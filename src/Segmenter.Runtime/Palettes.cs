using System.Collections.Generic;

namespace Segmenter.Runtime;

/// <summary>Class colours for label and overlay images.</summary>
public static class Palettes
{
    /// <summary>
    /// The Pascal VOC colour map (bits of the class index spread over R, G and B from the most significant
    /// bit down): distinct, stable colours for up to 256 classes. Index 255 (ignore) is white.
    /// </summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> Voc { get; } = BuildVoc();

    private static (byte, byte, byte)[] BuildVoc()
    {
        var palette = new (byte, byte, byte)[256];
        for (int index = 0; index < 256; index++)
        {
            int r = 0, g = 0, b = 0, c = index;
            for (int shift = 7; shift >= 0; shift--)
            {
                r |= (c & 1) << shift;
                g |= ((c >> 1) & 1) << shift;
                b |= ((c >> 2) & 1) << shift;
                c >>= 3;
            }
            palette[index] = ((byte)r, (byte)g, (byte)b);
        }
        palette[255] = (255, 255, 255);
        return palette;
    }
}
