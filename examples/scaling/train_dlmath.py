"""Step 1 (one machine, dlmath): train the classifier for a few epochs and save a checkpoint.

    python examples/scaling/train_dlmath.py --out ckpt
"""
import argparse
import json
from pathlib import Path

import dlmath as dm
from dlmath.utils.data import DataLoader, TensorDataset

from model import DigitClassifier, digits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="ckpt")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    dm.manual_seed(0)
    images, labels = digits(dm)
    loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True,
                        generator=dm.Generator().manual_seed(0))
    model = DigitClassifier()
    optimizer = dm.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(args.epochs):
        for x, y in loader:
            optimizer.zero_grad()
            dm.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    with dm.no_grad():
        loss = dm.nn.functional.cross_entropy(model(images), labels).item()
    print(f"dlmath: full-data loss after {args.epochs} epochs: {loss:.4f}")
    dm.save(model.state_dict(), out / "model.safetensors")  # PyTorch reads this file as it is
    (out / "dlmath_loss.json").write_text(json.dumps({"loss": loss}))


if __name__ == "__main__":
    main()
