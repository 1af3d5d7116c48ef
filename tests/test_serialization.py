"""dm.save / dm.load: safetensors checkpoints, both ways with PyTorch, and hostile files."""
import io
import json
import struct

import numpy as np
import pytest

import dlmath as dm
from dlmath.nn.modules.utils import consume_prefix_in_state_dict_if_present


# ---------------------------------------------------------------- helpers
def _module(lib, name):
    """The same layer built by either library (their nn namespaces share names and arguments)."""
    nn = lib.nn
    return {
        "linear": lambda: nn.Linear(5, 3),
        "layernorm": lambda: nn.LayerNorm(5),
        "batchnorm": lambda: nn.BatchNorm1d(5),
        "embedding": lambda: nn.Embedding(7, 5),
        "lstm": lambda: nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True),
        "mha": lambda: nn.MultiheadAttention(8, 2, batch_first=True),
        "encoder": lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
    }[name]()


def _input(name, lib):
    rng = np.random.default_rng(0)
    if name == "embedding":
        return lib.tensor(rng.integers(0, 7, size=(4, 3)))
    if name in ("mha", "encoder"):
        return lib.tensor(rng.standard_normal((2, 3, 8)).astype(np.float32))
    if name == "lstm":
        return lib.tensor(rng.standard_normal((2, 3, 5)).astype(np.float32))
    return lib.tensor(rng.standard_normal((4, 5)).astype(np.float32))


def _output(module, name, x):
    if name == "mha":
        return module(x, x, x)[0]
    if name == "lstm":
        return module(x)[0]
    return module(x)


def _trained_module(torch, name):
    """A torch module whose buffers moved away from their defaults (BatchNorm's running stats)."""
    module = _module(torch, name)
    if name == "batchnorm":
        module(torch.randn(16, 5) * 3 + 1)
        module.eval()
    return module


MODULES = ["linear", "layernorm", "batchnorm", "embedding", "lstm", "mha", "encoder"]


# ---------------------------------------------------------------- interop with PyTorch
@pytest.mark.parametrize("name", MODULES)
def test_a_file_torch_wrote_loads_into_the_same_dlmath_module(torch, tmp_path, name):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    source = _trained_module(torch, name)
    save_file(source.state_dict(), tmp_path / "w.safetensors")
    target = _module(dm, name)
    target.load_state_dict(dm.load(tmp_path / "w.safetensors"), strict=True)
    target.train(source.training)
    with torch.no_grad():
        expected = _output(source, name, _input(name, torch)).numpy()
    got = _output(target, name, _input(name, dm)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    if name == "batchnorm":
        assert target.num_batches_tracked.item() == 1 and target.num_batches_tracked.shape == ()


@pytest.mark.parametrize("name", MODULES)
def test_a_file_dlmath_wrote_loads_into_the_same_torch_module(torch, tmp_path, name):
    from safetensors.torch import load_file

    dm.manual_seed(0)
    source = _module(dm, name)
    if name == "batchnorm":
        source(dm.randn(16, 5) * 3 + 1)
        source.eval()
    dm.save(source.state_dict(), tmp_path / "w.safetensors")
    target = _module(torch, name)
    target.load_state_dict(load_file(tmp_path / "w.safetensors"), strict=True)
    target.train(source.training)
    with torch.no_grad():
        expected = _output(target, name, _input(name, torch)).numpy()
    got = _output(source, name, _input(name, dm)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_bfloat16_from_torch_loads_as_float32_exactly(torch, tmp_path):
    from safetensors.torch import save_file

    weights = torch.randn(4, 6).to(torch.bfloat16)
    save_file({"w": weights}, tmp_path / "bf16.safetensors")
    loaded = dm.load(tmp_path / "bf16.safetensors")["w"]
    assert loaded.dtype == dm.float32
    np.testing.assert_array_equal(loaded.numpy(), weights.float().numpy())


def test_ddp_and_compile_prefixes_are_consumed(torch, tmp_path):
    from safetensors.torch import save_file

    source = torch.nn.Linear(3, 2)
    save_file({f"module._orig_mod.{k}": v for k, v in source.state_dict().items()}, tmp_path / "w.safetensors")
    state = dm.load(tmp_path / "w.safetensors")
    consume_prefix_in_state_dict_if_present(state, "module.")
    consume_prefix_in_state_dict_if_present(state, "_orig_mod.")
    target = dm.nn.Linear(3, 2)
    target.load_state_dict(state)
    np.testing.assert_array_equal(target.weight.detach().numpy(), source.weight.detach().numpy())


# ---------------------------------------------------------------- round trips within dlmath
@pytest.mark.parametrize("dtype", [dm.float16, dm.float32, dm.float64, dm.int8, dm.int16, dm.int32, dm.int64,
                                   dm.uint8, dm.bool, dm.complex64])
def test_every_dtype_round_trips(tmp_path, dtype):
    values = dm.tensor(np.arange(-3, 9).reshape(3, 4)).to(dtype)
    dm.save({"x": values, "scalar": dm.tensor(2).to(dtype)}, tmp_path / "t.safetensors")
    loaded = dm.load(tmp_path / "t.safetensors")
    assert loaded["x"].dtype == dtype and loaded["scalar"].shape == ()
    np.testing.assert_array_equal(loaded["x"].numpy(), values.numpy())


def test_views_are_saved_by_value_and_loaded_tensors_are_writable(tmp_path):
    base = dm.arange(12.0).reshape(3, 4)
    dm.save({"t": base.T, "row": base[1]}, tmp_path / "v.safetensors")
    loaded = dm.load(tmp_path / "v.safetensors")
    np.testing.assert_array_equal(loaded["t"].numpy(), base.T.numpy())
    loaded["t"].add_(1)  # a fresh tensor of its own, not a read-only view of the file's bytes
    np.testing.assert_array_equal(loaded["row"].numpy(), [4, 5, 6, 7])


def test_file_objects_and_bytes(tmp_path):
    buffer = io.BytesIO()
    dm.save({"a": dm.ones(2)}, buffer)
    assert dm.load(io.BytesIO(buffer.getvalue()))["a"].tolist() == [1.0, 1.0]
    assert dm.load(buffer.getvalue())["a"].tolist() == [1.0, 1.0]


def test_metadata_is_written_to_the_header(tmp_path):
    from safetensors import safe_open

    dm.save({"a": dm.ones(1)}, tmp_path / "m.safetensors", metadata={"epoch": "3"})
    with safe_open(tmp_path / "m.safetensors", framework="numpy") as f:
        assert f.metadata() == {"epoch": "3", "format": "pt"}


@pytest.mark.parametrize("make_optimizer", [
    lambda p: dm.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: dm.optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: dm.optim.AdamW(p, lr=0.01),
    lambda p: dm.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    lambda p: dm.optim.Adagrad(p, lr=0.1),
], ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_training_resumed_from_a_checkpoint_follows_the_same_trajectory(tmp_path, make_optimizer):
    x = dm.randn(32, 4, generator=dm.Generator().manual_seed(1))
    y = dm.randn(32, 1, generator=dm.Generator().manual_seed(2))

    def fresh():
        dm.manual_seed(0)
        model = dm.nn.Sequential(dm.nn.Linear(4, 8), dm.nn.Tanh(), dm.nn.Linear(8, 1))
        return model, make_optimizer(model.parameters())

    def train(model, optimizer, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            dm.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    model, optimizer = fresh()
    train(model, optimizer, 20)
    uninterrupted = model(x).detach().numpy()

    model, optimizer = fresh()
    train(model, optimizer, 10)
    dm.save(model.state_dict(), tmp_path / "model.safetensors")
    dm.save(optimizer.state_dict(), tmp_path / "optim.safetensors")
    model, optimizer = fresh()  # a new process would start here
    model.load_state_dict(dm.load(tmp_path / "model.safetensors"))
    optimizer.load_state_dict(dm.load(tmp_path / "optim.safetensors"))
    train(model, optimizer, 10)
    np.testing.assert_array_equal(model(x).detach().numpy(), uninterrupted)


def test_nested_structures_keep_their_types(tmp_path):
    state = {"state": {0: {"step": dm.tensor(3.0), "buf": dm.ones(2)}},
             "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": float("inf"), "name": None,
                               "nesterov": False, "params": [0]}]}
    dm.save(state, tmp_path / "o.safetensors")
    loaded = dm.load(tmp_path / "o.safetensors")
    group = loaded["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and group["eps"] == float("inf") and group["name"] is None
    assert list(loaded["state"]) == [0] and loaded["state"][0]["buf"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------- what dm.save refuses
@pytest.mark.parametrize("obj, match", [
    (dm.ones(2), "expected a state dict"),
    ({"f": len}, "cannot store builtin_function_or_method at f"),
    ({"z": dm.ones(2, dtype=dm.complex128)}, "complex128"),
    ({1.5: dm.ones(1)}, "key 1.5"),
])
def test_save_refuses_what_it_cannot_store(tmp_path, obj, match):
    with pytest.raises(TypeError, match=match):
        dm.save(obj, tmp_path / "x.safetensors")


def test_save_refuses_non_string_metadata(tmp_path):
    with pytest.raises(TypeError, match="metadata must map str to str"):
        dm.save({"a": dm.ones(1)}, tmp_path / "x.safetensors", metadata={"epoch": 3})


# ---------------------------------------------------------------- hostile and damaged files
def _file(header: dict, body: bytes, *, length=None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + body


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize("data, match", [
    (b"", "fewer than the 8-byte header length"),
    (b"PK\x03\x04 this is a zip file, not safetensors", "header claims"),
    (_file(GOOD, b"\x00" * 8)[:-3], "ends at byte 8 of the data, which has only 5"),
    (_file(GOOD, b"\x00" * 8, length=10_000), "header claims 10000 bytes"),
    (struct.pack("<Q", 5) + b"{nope" + b"\x00" * 8, "not JSON"),
    (_file({"a": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8), "unknown dtype 'F33'"),
    (_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8), "needs 12 bytes"),
    (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\x00" * 12), "overlap"),
    (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\x00" * 8), "invalid data_offsets"),
    (_file({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\x00" * 8), "invalid shape"),
    (_file({"a": {"dtype": "F32", "shape": [2]}}, b"\x00" * 8), "lacks dtype, shape or data_offsets"),
    (_file({"__metadata__": {"k": 1}, **GOOD}, b"\x00" * 8), "__metadata__"),
    (_file(GOOD, b"\x00" * 12), "not a valid safetensors file"),  # 4 stray bytes: safetensors' own check
    (_file({"__metadata__": {"dlmath.structure": "{\"dict\": [[\"a\", {\"tensor\": \"missing\"}]]}"}, **GOOD},
           b"\x00" * 8), "damaged"),
])
def test_hostile_files_get_a_clear_error_naming_the_file(tmp_path, data, match):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match) as info:
        dm.load(path)
    assert "evil.safetensors" in str(info.value)


def test_a_bad_checkpoint_leaves_the_model_untouched(tmp_path):
    model = dm.nn.Sequential(dm.nn.Linear(3, 4), dm.nn.Linear(4, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["1.weight"] = dm.zeros(5, 5)  # the last key is wrong: nothing may be written before the check
    dm.save(state, tmp_path / "bad.safetensors")
    with pytest.raises(RuntimeError, match="size mismatch for 1.weight"):
        model.load_state_dict(dm.load(tmp_path / "bad.safetensors"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key].numpy())


def test_load_arguments(tmp_path):
    dm.save({"a": dm.ones(1)}, tmp_path / "a.safetensors")
    assert dm.load(tmp_path / "a.safetensors", map_location="cpu")["a"].item() == 1.0
    with pytest.raises(ValueError, match="CPU only"):
        dm.load(tmp_path / "a.safetensors", map_location="cuda:0")
    with pytest.raises(ValueError, match="weights_only=False"):
        dm.load(tmp_path / "a.safetensors", weights_only=False)
    with pytest.raises(FileNotFoundError, match="no such file"):
        dm.load(tmp_path / "missing.safetensors")
