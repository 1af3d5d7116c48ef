"""The road to more than one machine (docs/scaling.md), run end to end: dlmath trains and saves,
PyTorch continues on 2 processes under torchrun (DistributedDataParallel, gloo), dlmath reads
the result back. And the model file itself builds the same network under either library."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scaling"


def _load_model_file(backend, monkeypatch):
    monkeypatch.setenv("DLMATH_EXAMPLE_BACKEND", backend)
    spec = importlib.util.spec_from_file_location(f"scaling_model_{backend}", EXAMPLE / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_model_file_builds_the_same_network_in_both_libraries(torch, monkeypatch):
    with_dm = _load_model_file("dlmath", monkeypatch)
    with_torch = _load_model_file("torch", monkeypatch)
    assert with_dm.torch.__name__ == "dlmath" and with_torch.torch.__name__ == "torch"
    ours, theirs = with_dm.DigitClassifier(), with_torch.DigitClassifier()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    images, _ = with_dm.digits(with_dm.torch)
    got = ours(images[:50]).detach().numpy()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(images[:50].numpy())).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_train_with_dlmath_continue_with_torch_ddp_and_come_back(torch, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed beside this interpreter")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("DLMATH_EXAMPLE_BACKEND", None)
    ckpt = tmp_path / "ckpt"

    def run(command, **extra):
        result = subprocess.run(command, cwd=EXAMPLE, env=dict(env, **extra), capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    run([sys.executable, "train_dlmath.py", "--out", str(ckpt)])
    run([torchrun, "--nproc_per_node=2", "--standalone", "train_ddp.py",
         "--ckpt", str(ckpt)], DLMATH_EXAMPLE_BACKEND="torch")
    run([sys.executable, "back_to_dlmath.py", "--ckpt", str(ckpt)])

    first = json.loads((ckpt / "dlmath_loss.json").read_text())
    ddp = json.loads((ckpt / "ddp_loss.json").read_text())
    back = json.loads((ckpt / "back_loss.json").read_text())
    assert ddp["world_size"] == 2
    assert abs(ddp["start"] - first["loss"]) < 1e-4  # PyTorch starts exactly where dlmath stopped
    assert ddp["end"] < 0.6 * ddp["start"]  # and the loss keeps falling
    assert abs(back["loss"] - ddp["end"]) < 1e-4  # the weights came back
    assert back["accuracy"] > 0.95
