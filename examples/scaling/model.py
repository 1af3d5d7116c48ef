"""One model file for both libraries: the only thing that differs is which one `torch` names.

dlmath mirrors PyTorch's names, so the same class definition builds a dlmath model or a PyTorch
model. Here the library is chosen by the environment variable DLMATH_EXAMPLE_BACKEND ("dlmath",
the default, or "torch"); in your own code it is simply `import dlmath as torch` or `import torch`.
"""
import importlib
import os

torch = importlib.import_module(os.environ.get("DLMATH_EXAMPLE_BACKEND", "dlmath"))
nn = torch.nn
F = torch.nn.functional


class DigitClassifier(nn.Module):
    """An MLP for the 8x8 digits: 64 pixels -> 128 -> LayerNorm -> GELU -> 10 logits."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, images):
        x = images.reshape(images.shape[0], 64) / 16.0  # pixel values are 0..16
        return self.fc2(F.gelu(self.norm(self.fc1(x))))


def digits(library):
    """The shipped digits as tensors of ``library`` (dlmath's copy is the one on disk)."""
    import dlmath

    images, labels = dlmath.datasets.load_digits()
    if library.__name__ == "dlmath":
        return images, labels
    return library.from_numpy(images.numpy()), library.from_numpy(labels.numpy())
