namespace Segmenter.Training.Data;

/// <summary>The on-disk layouts datasets come in.</summary>
public enum DatasetLayout
{
    /// <summary>ADEChallengeData2016/images|annotations/training|validation; label 0 is "other" (ignored), k → k − 1.</summary>
    Ade20k,
    /// <summary>leftImg8bit/&lt;split&gt;/&lt;city&gt;/*_leftImg8bit.png with gtFine/…/*_gtFine_labelTrainIds.png (19 train ids, 255 ignore).</summary>
    Cityscapes,
    /// <summary>VOC2010: JPEGImages, SegmentationClassContext, ImageSets/SegmentationContext/train|val.txt (60 classes).</summary>
    PascalContext,
    /// <summary>A plain folder: images/[split/], labels/[split/] with matching names, and classes.txt (one name per line).</summary>
    Folder,
}
