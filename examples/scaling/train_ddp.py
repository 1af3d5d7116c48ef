"""Step 2 (PyTorch, distributed): continue training the same model on two processes.

    DLMATH_EXAMPLE_BACKEND=torch torchrun --nproc_per_node=2 examples/scaling/train_ddp.py --ckpt ckpt

Each process loads the checkpoint dlmath wrote, wraps the model in DistributedDataParallel
(the gloo backend runs on CPUs), trains on its half of every epoch (DistributedSampler), and
rank 0 saves the result for dlmath to read back.
"""
import argparse
import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

assert os.environ.get("DLMATH_EXAMPLE_BACKEND") == "torch", "run with DLMATH_EXAMPLE_BACKEND=torch"
from model import DigitClassifier, digits  # noqa: E402  (the same file dlmath trained)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", default="ckpt")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    ckpt = Path(args.ckpt)

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = DigitClassifier()
    model.load_state_dict(load_file(ckpt / "model.safetensors"), strict=True)
    images, labels = digits(torch)
    with torch.no_grad():
        start_loss = torch.nn.functional.cross_entropy(model(images), labels).item()

    ddp = DistributedDataParallel(model)
    data = TensorDataset(images, labels)
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=32, sampler=sampler)  # 32 per process: 64 per step, as before
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(ddp(x), y).backward()  # gradients all-reduced here
            optimizer.step()

    if rank == 0:
        with torch.no_grad():
            end_loss = torch.nn.functional.cross_entropy(model(images), labels).item()
        print(f"torch DDP x{dist.get_world_size()}: full-data loss {start_loss:.4f} -> {end_loss:.4f}")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, ckpt / "model_ddp.safetensors")
        (ckpt / "ddp_loss.json").write_text(json.dumps({"start": start_loss, "end": end_loss,
                                                        "world_size": dist.get_world_size()}))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
