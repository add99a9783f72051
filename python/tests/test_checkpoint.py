import json

import pytest
import torch

import tiny_model
from helpers import TINY_MODEL
from segmenter_torch import UserError, safetensors_io
from segmenter_torch.checkpoint import (TrainingState, load_weights, read_training_checkpoint, save_project,
                                        training_metadata)
from segmenter_torch.model_file import load as load_model_file


@pytest.fixture
def model_file():
    return load_model_file(TINY_MODEL)


def test_model_file_is_loaded_by_path_and_checked(model_file, tmp_path):
    assert model_file.name == "TinyTest" and model_file.num_classes == 3
    model = model_file.create_model()
    assert model(torch.zeros(1, 3, 20, 28)).shape == (1, 3, 20, 28)
    bad = tmp_path / "m.py"
    bad.write_text("SPEC = {}\n")
    with pytest.raises(UserError, match="lacks SPEC_TEXT, create_model"):
        load_model_file(str(bad))
    with pytest.raises(UserError, match="does not exist"):
        load_model_file(str(tmp_path / "none.py"))


# A run's recipe as train.py resolves it (its names are checkpoint.RECIPE_KEYS').
RECIPE = {"iters": 100, "batch": 4, "accumulate": 2, "seed": 3, "lr": 0.01, "min_lr": 1e-5, "momentum": 0.9, "weight_decay": 0.0,
          "crop": 32, "eval_every": 0, "eval_mode": "slide", "log_every": 1, "checkpoint_every": 500}


def test_training_checkpoint_holds_the_project_metadata_state_and_momentum(model_file, tmp_path):
    model = model_file.create_model()
    path = str(tmp_path / "last.safetensors")
    momentum = [("optimizer.momentum_buffer.encoder.cls_token", torch.full((1, 1, 32), 0.5))]
    save_project(path, model.state_dict(), model_file.spec, model_file.spec_text,
                 training_metadata(TrainingState(7, float("nan"), 0), RECIPE), momentum)
    tensors, metadata = safetensors_io.read(path)
    assert metadata["format"] == "segmenter-dsl/2"
    assert metadata["model"] == "TinyTest"
    assert metadata["spec"] == tiny_model.SPEC_TEXT
    assert json.loads(metadata["spec_json"]) == tiny_model.SPEC
    assert {k: metadata[k] for k in metadata if k.startswith("training.")} == {
        "training.iteration": "7", "training.best_miou": "NaN", "training.best_iteration": "0", "training.seed": "3",
        "training.iterations": "100", "training.batch_size": "4", "training.accumulate": "2", "training.engine": "segmenter_torch",
        "training.lr": "0.01", "training.min_lr": "1e-05", "training.momentum": "0.9", "training.weight_decay": "0.0",
        "training.crop": "32", "training.eval_every": "0", "training.eval_mode": "slide", "training.log_every": "1",
        "training.checkpoint_every": "500"}
    assert set(tensors) == set(model.state_dict()) | {"optimizer.momentum_buffer.encoder.cls_token"}

    point = read_training_checkpoint(path, model_file.spec, batch_size=4, accumulate=2)
    assert point.state.iteration == 7 and point.seed == 3 and point.state.best_miou != point.state.best_miou
    assert torch.equal(point.momentum["encoder.cls_token"], torch.full((1, 1, 32), 0.5))
    with pytest.raises(UserError, match="trained with --batch 4, but this run asks for --batch 8"):
        read_training_checkpoint(path, model_file.spec, batch_size=8, accumulate=2)


def test_a_file_of_another_architecture_is_refused(model_file, tmp_path):
    model = model_file.create_model()
    path = str(tmp_path / "w.safetensors")
    other = json.loads(json.dumps(model_file.spec))
    other["name"], other["backbone"]["layers"] = "Other", 5
    save_project(path, model.state_dict(), other, "…")
    with pytest.raises(UserError, match="model 'Other', whose architecture differs from 'TinyTest': layers 5 in the file, 2 in the model"):
        load_weights(model_file.create_model(), path, model_file.spec)


def test_reference_checkpoint_pth_and_module_prefix(model_file, tmp_path):
    source = model_file.create_model()
    torch.save({"model": source.state_dict(), "n_cls": 3, "epoch": 1}, tmp_path / "checkpoint.pth")
    torch.save({"module." + k: v for k, v in source.state_dict().items()}, tmp_path / "ddp.pth")
    # torch.compile's wrapper, alone and inside DDP
    torch.save({"_orig_mod." + k: v for k, v in source.state_dict().items()}, tmp_path / "compiled.pth")
    torch.save({"module._orig_mod." + k: v for k, v in source.state_dict().items()}, tmp_path / "ddp-compiled.pth")
    for name in ("checkpoint.pth", "ddp.pth", "compiled.pth", "ddp-compiled.pth"):
        target = model_file.create_model()
        report = load_weights(target, str(tmp_path / name), model_file.spec)
        assert report.convention == "reference" and not report.missing
        for key, value in source.state_dict().items():
            assert torch.equal(target.state_dict()[key], value), key


def test_timm_weights_skip_the_head_resize_the_grid_and_leave_the_decoder(model_file, tmp_path):
    source = model_file.create_model()
    timm = {k[len("encoder."):]: v for k, v in source.state_dict().items() if k.startswith("encoder.")}
    timm["pos_embed"] = torch.randn(1, 1 + 36, 32)   # a 6×6 grid, the model's is 4×4
    timm["head.weight"], timm["head.bias"] = torch.randn(1000, 32), torch.randn(1000)
    path = str(tmp_path / "vit.safetensors")
    safetensors_io.write(path, list(timm.items()))
    target = model_file.create_model()
    decoder_before = target.decoder.head.weight.clone()
    report = load_weights(target, path, model_file.spec)
    assert report.convention == "timm"
    assert sorted(report.missing) == ["decoder.head.bias", "decoder.head.weight"]
    assert report.skipped == ["encoder.head.weight", "encoder.head.bias"]
    assert any("6×6 grid to 4×4" in n for n in report.notes)
    assert torch.equal(target.encoder.blocks[1].attn.qkv.weight, source.encoder.blocks[1].attn.qkv.weight)
    assert torch.equal(target.decoder.head.weight, decoder_before)
    assert target.encoder.pos_embed.shape == (1, 17, 32)
    assert torch.equal(target.encoder.pos_embed[:, :1], timm["pos_embed"][:, :1])   # the class token's row is kept
    expected = torch.nn.functional.interpolate(timm["pos_embed"][:, 1:].reshape(1, 6, 6, 32).permute(0, 3, 1, 2), size=(4, 4),
                                               mode="bilinear", align_corners=False).permute(0, 2, 3, 1).reshape(1, 16, 32)
    assert torch.allclose(target.encoder.pos_embed[:, 1:], expected)


def test_mmsegmentation_keys_are_mapped_and_the_conv_head_flattened(model_file, tmp_path):
    source = model_file.create_model()
    sd = source.state_dict()
    mm = {"backbone.cls_token": sd["encoder.cls_token"], "backbone.pos_embed": sd["encoder.pos_embed"],
          "backbone.patch_embed.projection.weight": sd["encoder.patch_embed.proj.weight"],
          "backbone.patch_embed.projection.bias": sd["encoder.patch_embed.proj.bias"],
          "backbone.ln1.weight": sd["encoder.norm.weight"], "backbone.ln1.bias": sd["encoder.norm.bias"],
          "decode_head.conv_seg.weight": sd["decoder.head.weight"][:, :, None, None], "decode_head.conv_seg.bias": sd["decoder.head.bias"],
          "auxiliary_head.conv.weight": torch.zeros(1)}
    for i in range(2):
        names = {"ln1": "norm1", "ln2": "norm2", "attn.attn.in_proj_": "attn.qkv.", "attn.attn.out_proj.": "attn.proj.",
                 "ffn.layers.0.0.": "mlp.fc1.", "ffn.layers.1.": "mlp.fc2."}
        for mm_name, ref in names.items():
            for kind in ("weight", "bias"):
                sep = "" if mm_name.endswith(("_", ".")) else "."
                mm[f"backbone.layers.{i}.{mm_name}{sep}{kind}"] = sd[f"encoder.blocks.{i}.{ref}{'' if ref.endswith('.') else '.'}{kind}"]
    torch.save({"state_dict": mm, "meta": {}}, tmp_path / "mmseg.pth")
    target = model_file.create_model()
    report = load_weights(target, str(tmp_path / "mmseg.pth"), model_file.spec)
    assert report.convention == "mmsegmentation" and not report.missing and report.skipped == ["auxiliary_head.conv.weight"]
    for key, value in sd.items():
        assert torch.equal(target.state_dict()[key], value), key


def test_transposed_mask_projections_from_mmsegmentation():
    from segmenter_torch.checkpoint import to_reference
    weight = torch.randn(4, 6)
    mapped = to_reference({"decode_head.patch_proj.weight": weight, "decode_head.classes_proj.weight": weight,
                           "decode_head.layers.0.attn.attn.in_proj_weight": torch.zeros(3)}, "mmsegmentation")
    assert torch.equal(mapped["decoder.proj_patch"], weight.t()) and torch.equal(mapped["decoder.proj_classes"], weight.t())
    assert "decoder.blocks.0.attn.qkv.weight" in mapped


def test_loading_is_strict_and_all_or_nothing(model_file, tmp_path):
    source = model_file.create_model()
    sd = dict(source.state_dict())
    del sd["decoder.head.bias"]
    sd["encoder.extra"] = torch.zeros(1)
    sd["encoder.norm.weight"] = torch.zeros(5)
    path = str(tmp_path / "bad.safetensors")
    safetensors_io.write(path, list(sd.items()))
    target = model_file.create_model()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(UserError) as error:
        load_weights(target, path, model_file.spec)
    message = str(error.value)
    assert "1 missing (decoder.head.bias)" in message and "1 unexpected (encoder.extra)" in message and "encoder.norm.weight: [5]" in message
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key])


def test_weights_that_are_not_finite_load_with_a_warning(model_file, tmp_path):
    sd = dict(model_file.create_model().state_dict())
    sd["decoder.head.bias"] = torch.full_like(sd["decoder.head.bias"], float("nan"))
    path = str(tmp_path / "nan.safetensors")
    safetensors_io.write(path, list(sd.items()))
    report = load_weights(model_file.create_model(), path, model_file.spec)
    classes = sd["decoder.head.bias"].numel()
    assert report.non_finite == [f"decoder.head.bias ({classes} of {classes})"]
    assert report.warning().startswith(f"{path}: 1 of the {len(sd)} tensors loaded hold NaN or infinite values (decoder.head.bias")
    # Finite in the file's float64, infinite in the model's float32: counted as what the model would hold.
    sd["decoder.head.bias"] = torch.full(sd["decoder.head.bias"].shape, 1e300, dtype=torch.float64)
    safetensors_io.write(path, list(sd.items()))
    assert load_weights(model_file.create_model(), path, model_file.spec).non_finite == [f"decoder.head.bias ({classes} of {classes})"]
    sd["decoder.head.bias"] = torch.zeros_like(sd["decoder.head.bias"])
    safetensors_io.write(path, list(sd.items()))
    assert load_weights(model_file.create_model(), path, model_file.spec).warning() is None
    # Whole numbers or booleans where a weight belongs are a damaged file, not something to convert silently.
    sd["decoder.head.bias"] = torch.zeros(sd["decoder.head.bias"].shape, dtype=torch.int64)
    safetensors_io.write(path, list(sd.items()))
    with pytest.raises(UserError, match=r"tensor 'decoder.head.bias' is torch.int64, but the model's is torch.float32: weights are floating point"):
        load_weights(model_file.create_model(), path, model_file.spec)


class _FakeScaler:
    """The two GradScaler methods the checkpoint code uses (a real one is disabled without CUDA)."""

    def __init__(self, scale=65536.0, tracker=0):
        self.state = {"scale": scale, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000, "_growth_tracker": tracker}

    def state_dict(self):
        return dict(self.state)

    def load_state_dict(self, state):
        self.state = dict(state)


def test_the_grad_scaler_state_round_trips_through_checkpoint_metadata(tmp_path):
    from segmenter_torch import amp, safetensors_io
    from segmenter_torch.checkpoint import TrainingState, read_training_checkpoint, save_project, training_metadata
    spec = {"name": "X"}
    metadata = training_metadata(TrainingState(7), {**RECIPE, "iters": 10, "batch": 2, "accumulate": 1})
    metadata.update(amp.scaler_metadata(_FakeScaler(1024.0, 37)))
    assert metadata["training.amp_scale"] == "1024.0" and metadata["training.amp_growth_tracker"] == "37"
    path = str(tmp_path / "last.safetensors")
    save_project(path, {"w": torch.zeros(1)}, spec, "model X {}", metadata)
    point = read_training_checkpoint(path, spec, 2, 1)
    fresh = _FakeScaler()
    assert amp.restore_scaler(fresh, point.metadata, path)
    assert fresh.state["scale"] == 1024.0 and fresh.state["_growth_tracker"] == 37 and fresh.state["growth_interval"] == 2000
    # No scaler (--amp off/bf16), or a file without the keys: nothing restored, nothing written.
    assert amp.scaler_metadata(None) == {} and not amp.restore_scaler(None, point.metadata, path)
    assert not amp.restore_scaler(_FakeScaler(), {}, path)
    with pytest.raises(UserError, match="training.amp_scale"):
        amp.restore_scaler(_FakeScaler(), {"training.amp_scale": "big"}, path)
    with pytest.raises(UserError, match="out of range"):
        amp.restore_scaler(_FakeScaler(), {"training.amp_scale": "inf"}, path)


def test_fp16_with_fsdp_asks_for_the_sharded_scaler():
    from segmenter_torch import amp
    try:
        from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler
    except Exception:
        with pytest.raises(UserError, match="sharded_grad_scaler"):
            amp.grad_scaler("fp16", torch.device("cpu"), sharded=True)
        return
    assert isinstance(amp.grad_scaler("fp16", torch.device("cpu"), sharded=True), ShardedGradScaler)


def test_momentum_is_matched_by_clean_names_under_fsdp_prefixes():
    from segmenter_torch.distributed import clean_name, load_momentum
    assert clean_name("_fsdp_wrapped_module.encoder.blocks.0._fsdp_wrapped_module.attn.qkv.weight") == "encoder.blocks.0.attn.qkv.weight"

    class Wrapper(torch.nn.Module):   # names its parameters as FSDP does outside summon_full_params
        def __init__(self):
            super().__init__()
            self._fsdp_wrapped_module = torch.nn.Linear(2, 3)

    model = Wrapper()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    load_momentum(model, optimizer, {"weight": torch.ones(3, 2), "bias": torch.full((3,), 2.0)}, "x.safetensors")
    inner = model._fsdp_wrapped_module
    assert torch.equal(optimizer.state[inner.weight]["momentum_buffer"], torch.ones(3, 2))
    assert torch.equal(optimizer.state[inner.bias]["momentum_buffer"], torch.full((3,), 2.0))
    with pytest.raises(UserError, match="'other'"):
        load_momentum(model, optimizer, {"other": torch.ones(1)}, "x.safetensors")


def _touch(path):
    open(path, "w").close()
    return path


class _RunsCodeWhenUnpickled:
    """Unpickled by calling _touch: proof that code from the file ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_touch, (self.path,))


def test_a_pickle_beyond_tensors_is_refused_unless_trusted_and_nothing_in_it_runs(tmp_path):
    import os
    from segmenter_torch.checkpoint import read_any
    marker = str(tmp_path / "ran")
    path = str(tmp_path / "objects.pth")
    torch.save({"state_dict": {"w": torch.ones(2)}, "meta": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(UserError) as refused:
        read_any(path)
    assert f"{path} holds pickled Python objects beyond tensors and containers" in str(refused.value)
    assert "convert it with `segmenter convert`" in str(refused.value) and "--trust-pickle" in str(refused.value)
    assert not os.path.exists(marker)
    tensors, _ = read_any(path, trust_pickle=True)   # the user's explicit choice: the file's code runs
    assert torch.equal(tensors["w"], torch.ones(2)) and os.path.exists(marker)
    # A damaged file is refused as damaged, never retried unrestricted.
    plain = str(tmp_path / "plain.pth")
    torch.save({"w": torch.ones(1000)}, plain)
    truncated = str(tmp_path / "truncated.pth")
    with open(plain, "rb") as source, open(truncated, "wb") as target:
        target.write(source.read()[: os.path.getsize(plain) // 2])
    with pytest.raises(UserError, match=r"not a readable checkpoint \(truncated or damaged\?\)"):
        read_any(truncated)


def test_a_training_checkpoint_with_a_negative_step_is_refused_as_damaged(tmp_path):
    from segmenter_torch.checkpoint import TrainingState, read_training_checkpoint, save_project, training_metadata
    spec = {"name": "X"}
    path = str(tmp_path / "last.safetensors")
    save_project(path, {"w": torch.zeros(1)}, spec, "model X {}", training_metadata(TrainingState(-5), {**RECIPE, "batch": 2, "accumulate": 1}))
    with pytest.raises(UserError, match="says step -5"):
        read_training_checkpoint(path, spec, 2, 1)


@pytest.mark.parametrize("text, expected", [
    ("[1, 2]", "the whole is an array, where an object belongs"),
    ("null", "the whole is null, where an object belongs"),
    ('{"name": "X", "backbone": 5}', "'backbone' is a number, where an object belongs"),
    ('{"name": "X", "decoder": "mask"}', "'decoder' is a string, where an object belongs"),
    ('{"name": "X", "image": 512}', "'image' is a number, where an array belongs"),
    ("[" * 100000 + "]" * 100000, "is not valid JSON"),
])
def test_spec_metadata_that_is_not_a_spec_is_refused_as_damaged(text, expected):
    from segmenter_torch.checkpoint import SPEC_JSON_KEY, check_compatible
    with pytest.raises(UserError) as refused:
        check_compatible("w.safetensors", {SPEC_JSON_KEY: text}, {"name": "X"})
    assert str(refused.value).startswith(f"w.safetensors: its '{SPEC_JSON_KEY}' metadata is ") and expected in str(refused.value)


@pytest.mark.parametrize("old, new, expected", [
    ('"classes": 3,', '"classes": "three",', "SPEC's 'classes' must be a whole number from 1 to 65535, not 'three'"),
    ('"image": [32, 32],', '"image": [0, 0],', "SPEC's 'image' must be [height, width], whole numbers from 1 to 8192, not [0, 0]"),
    ('"image": [32, 32],', '"image": "32",', "SPEC's 'image' must be [height, width]"),
])
def test_hand_edited_spec_values_of_the_wrong_type_or_range_are_refused(tmp_path, old, new, expected):
    text = open(TINY_MODEL, encoding="utf-8").read()
    assert old in text
    edited = tmp_path / "edited_model.py"
    edited.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(UserError) as refused:
        load_model_file(str(edited))
    assert expected in str(refused.value)
