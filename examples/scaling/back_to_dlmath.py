"""Step 3 (back on one machine, dlmath): load what the distributed run saved and use it.

    python examples/scaling/back_to_dlmath.py --ckpt ckpt
"""
import argparse
import json
from pathlib import Path

import dlmath as dm

from model import DigitClassifier, digits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", default="ckpt")
    args = parser.parse_args()
    ckpt = Path(args.ckpt)

    model = DigitClassifier()
    model.load_state_dict(dm.load(ckpt / "model_ddp.safetensors"), strict=True)
    images, labels = digits(dm)
    with dm.no_grad():
        logits = model(images)
        loss = dm.nn.functional.cross_entropy(logits, labels).item()
        accuracy = (logits.argmax(1) == labels).float().mean().item()
    print(f"dlmath again: full-data loss {loss:.4f}, accuracy {accuracy:.3f}")
    (ckpt / "back_loss.json").write_text(json.dumps({"loss": loss, "accuracy": accuracy}))


if __name__ == "__main__":
    main()
