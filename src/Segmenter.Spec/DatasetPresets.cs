using System.Collections.Generic;
using System.Linq;

namespace Segmenter.Spec;

/// <summary>The dataset presets of the paper (class lists as mmsegmentation orders them).</summary>
public static class DatasetPresets
{
    /// <summary>ADE20K (SceneParsing, 150 classes; label 0 "other" is ignored and k becomes k − 1).</summary>
    public static DatasetPreset Ade20k { get; } = new("ade20k", "ADE20K", EquatableArray.Create(
        "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass",
        "cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
        "car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
        "armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
        "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace",
        "refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway",
        "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench",
        "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel",
        "bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver",
        "airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet",
        "poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool",
        "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
        "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
        "screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan",
        "pier", "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag"));

    /// <summary>Pascal Context, 60 classes including background.</summary>
    public static DatasetPreset PascalContext { get; } = new("pascal-context", "Pascal Context", EquatableArray.Create(
        "background", "aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat", "book",
        "bottle", "building", "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth", "computer",
        "cow", "cup", "curtain", "dog", "door", "fence", "floor", "flower", "food", "grass",
        "ground", "horse", "keyboard", "light", "motorbike", "mountain", "mouse", "person", "plate", "platform",
        "pottedplant", "road", "rock", "sheep", "shelves", "sidewalk", "sign", "sky", "snow", "sofa",
        "table", "track", "train", "tree", "truck", "tvmonitor", "wall", "water", "window", "wood"));

    /// <summary>Cityscapes, the 19 training classes (train ids).</summary>
    public static DatasetPreset Cityscapes { get; } = new("cityscapes", "Cityscapes", EquatableArray.Create(
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation", "terrain",
        "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"));

    /// <summary>Every preset.</summary>
    public static IReadOnlyList<DatasetPreset> All { get; } = new[] { Ade20k, PascalContext, Cityscapes };

    /// <summary>The preset called <paramref name="name"/> (case-insensitive; '_' and '-' are the same), or null.</summary>
    public static DatasetPreset? Find(string name)
    {
        var key = Normalize(name);
        return All.FirstOrDefault(p => Normalize(p.Name) == key);
    }

    private static string Normalize(string name) => name.Replace('_', '-').ToLowerInvariant();
}
