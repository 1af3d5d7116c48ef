"""Helpers for state dicts that come from elsewhere, as ``torch.nn.modules.utils``."""
from __future__ import annotations

__all__ = ["consume_prefix_in_state_dict_if_present"]


def consume_prefix_in_state_dict_if_present(state_dict, prefix: str) -> None:
    """Strip ``prefix`` from every key of ``state_dict`` that has it, in place (torch's helper).

    The prefixes a user meets: ``"module."`` on the keys of a model saved from inside
    DistributedDataParallel or DataParallel, and ``"_orig_mod."`` on a model saved after
    ``torch.compile``. Stripping them lets the same weights load into the plain module.
    Keys without the prefix are left alone, and so is their order.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"consume_prefix_in_state_dict_if_present: prefix must be a str, got "
                        f"{type(prefix).__name__}")
    keys = list(state_dict.keys())
    for key in keys:
        value = state_dict.pop(key)
        state_dict[key[len(prefix):] if key.startswith(prefix) else key] = value
    # torch also rewrites the module-name keys of the ``_metadata`` attribute a state dict carries
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for key in list(metadata.keys()):
            # the wrapper's own entry ("module") becomes the root's (""), its children lose the prefix
            if key and (key == prefix.rstrip(".") or key.startswith(prefix)):
                metadata[key[len(prefix):]] = metadata.pop(key)
