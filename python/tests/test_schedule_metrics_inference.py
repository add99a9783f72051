import math

import pytest
import torch

from segmenter_torch.inference import InferenceOptions, parse_mode, probabilities, slide_logits, starts, upsample_short_side
from segmenter_torch.metrics import ConfusionMatrix
from segmenter_torch.schedule import make_optimizer, poly_lr


def test_poly_schedule_against_hand_computed_values():
    assert poly_lr(0, 1e-3, 100) == pytest.approx(1e-3)
    # (1e-3 − 1e-5)(1 − 50/100)^0.9 + 1e-5 = 9.9e-4 · 0.535887… + 1e-5
    assert poly_lr(50, 1e-3, 100) == pytest.approx(9.9e-4 * 0.5 ** 0.9 + 1e-5, rel=1e-12)
    assert poly_lr(50, 1e-3, 100) == pytest.approx(0.000540528, rel=1e-6)
    assert poly_lr(100, 1e-3, 100) == pytest.approx(1e-5)
    assert poly_lr(150, 1e-3, 100) == pytest.approx(1e-5)   # clamped past the end


def test_nesterov_sgd_steps_against_hand_computed_values():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = make_optimizer([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    # step 1: g = ∇ + λp = [0.5, 1] + 0.01·[1, −2] = [0.51, 0.98]; b = g; p −= lr (g + μ b) = lr · 1.9 g
    p.grad = torch.tensor([0.5, 1.0])
    optimizer.step()
    g1 = torch.tensor([0.51, 0.98])
    p1 = torch.tensor([1.0, -2.0]) - 0.1 * 1.9 * g1
    assert torch.allclose(p.detach(), p1, atol=1e-7)
    # step 2: g = [0.2, −0.4] + 0.01 p1; b = 0.9 b + g; p −= lr (g + 0.9 b)
    p.grad = torch.tensor([0.2, -0.4])
    optimizer.step()
    g2 = torch.tensor([0.2, -0.4]) + 0.01 * p1
    b2 = 0.9 * g1 + g2
    assert torch.allclose(p.detach(), p1 - 0.1 * (g2 + 0.9 * b2), atol=1e-7)
    assert torch.allclose(optimizer.state[p]["momentum_buffer"], b2, atol=1e-7)


def test_metrics_against_a_hand_computed_confusion_matrix():
    matrix = ConfusionMatrix(4)
    truth = torch.tensor([[0, 0, 1, 1], [1, 2, 255, 255]])
    predicted = torch.tensor([[0, 1, 1, 1], [0, 2, 3, 0]])
    matrix.add(predicted, truth)
    assert matrix.counts.tolist() == [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    metrics = matrix.compute(["a", "b", "c", "d"])
    # class 0: I 1, G 2, P 2 → IoU 1/3, Acc 1/2; class 1: I 2, G 3, P 3 → 2/4, 2/3; class 2: 1/1, 1/1; class 3: empty → NaN
    assert [c.iou for c in metrics.classes[:3]] == pytest.approx([1 / 3, 0.5, 1.0])
    assert [c.accuracy for c in metrics.classes[:3]] == pytest.approx([0.5, 2 / 3, 1.0])
    assert math.isnan(metrics.classes[3].iou) and math.isnan(metrics.classes[3].accuracy)
    assert metrics.pixel_accuracy == pytest.approx(4 / 6)
    assert metrics.mean_iou == pytest.approx((1 / 3 + 0.5 + 1) / 3)
    assert metrics.mean_accuracy == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert metrics.pixels == 6
    with pytest.raises(ValueError, match="outside 0–3"):
        matrix.add(torch.tensor([4]), torch.tensor([0]))


def test_a_class_predicted_but_absent_counts_with_iou_zero():
    matrix = ConfusionMatrix(3)
    matrix.add(torch.tensor([0, 2]), torch.tensor([0, 0]))
    metrics = matrix.compute()
    assert metrics.classes[2].iou == 0 and math.isnan(metrics.classes[2].accuracy) and math.isnan(metrics.classes[1].iou)
    assert metrics.mean_iou == pytest.approx(0.25)


def test_window_starts_and_short_side_upsampling():
    assert starts(10, 4, 3) == [0, 3, 6]
    assert starts(11, 4, 3) == [0, 3, 6, 7]
    assert starts(3, 4, 3) == [0]
    assert tuple(upsample_short_side(torch.zeros(1, 3, 10, 25), 20).shape) == (1, 3, 20, 50)
    assert tuple(upsample_short_side(torch.zeros(1, 3, 30, 25), 20).shape) == (1, 3, 30, 25)
    assert parse_mode("ms") == "multiscale"
    with pytest.raises(ValueError, match="use whole, slide or multiscale"):
        parse_mode("tiles")


def test_sliding_windows_of_a_pixelwise_model_equal_the_whole_image():
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 4, 1)
    image = torch.randn(1, 3, 23, 31)
    with torch.no_grad():
        whole = model(image)
        slid = slide_logits(model, image, 8, 5, batch=3)
        assert torch.allclose(slid, whole, atol=1e-6)
        p = probabilities(model, image, InferenceOptions.for_window("slide", 8))
        assert torch.allclose(p, whole.softmax(1), atol=1e-6)
        ms = probabilities(model, image, InferenceOptions.for_window("multiscale", 8))
        assert ms.shape == (1, 4, 23, 31) and torch.allclose(ms.sum(1), torch.ones(1, 23, 31), atol=1e-5)


def test_slide_counts_overlaps():
    calls = []

    def ones(batch):
        calls.append(batch.shape[0])
        return torch.ones(batch.shape[0], 2, batch.shape[2], batch.shape[3])

    result = slide_logits(ones, torch.zeros(1, 3, 12, 12), 8, 4, batch=2)
    assert sum(calls) == 4 and torch.allclose(result, torch.ones(1, 2, 12, 12))


def test_layer_norms_take_bf16_activations_under_cpu_autocast():
    from segmenter_torch import amp
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.LayerNorm(6))
    assert amp.guard_layer_norms(model, "off") == 0
    assert amp.guard_layer_norms(model, "bf16") == 1
    with amp.autocast("bf16", torch.device("cpu")):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
