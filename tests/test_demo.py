"""The main job (`make demo`) runs and learns."""
import io

from dlmath.__main__ import logistic_regression, main


def test_logistic_regression_learns():
    out = io.StringIO()
    accuracy = logistic_regression(steps=100, out=out)
    assert accuracy > 0.9
    text = out.getvalue()
    assert "loss 0.6931" in text  # log 2 at w = 0: the first step is the untrained model
    assert "final accuracy" in text


def test_cli_runs(capsys):
    assert main(["--steps", "20"]) == 0
    assert "final accuracy" in capsys.readouterr().out
