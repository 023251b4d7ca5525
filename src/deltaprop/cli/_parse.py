"""Options given as text (layer widths, activations, a batch size) turned into values, or a UserError."""

from __future__ import annotations

from deltaprop.activations import activation_names
from deltaprop.cli._errors import UserError


def parse_sizes(text: str, option: str, *, allow_empty: bool = False) -> list[int]:
    """ "64,32" -> [64, 32]; "none" or "" -> [] where allowed."""
    cleaned = text.strip().lower()
    if allow_empty and cleaned in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in cleaned.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        example = "64,32 (or none)" if allow_empty else "4,8,3"
        raise UserError(
            f"{option} must be comma-separated positive integers such as {example}; got {text!r}."
        )
    return sizes


def parse_activation_names(text: str, option: str) -> list[str]:
    """Comma-separated names of activations that deltaprop knows."""
    names = [part.strip() for part in text.split(",")]
    unknown = [name for name in names if name not in activation_names()]
    if unknown:
        raise UserError(f"{option} {unknown[0]!r} is unknown; choose from {', '.join(activation_names())}.")
    return names


def parse_activations(text: str, n_hidden: int) -> str | list[str]:
    """One activation for all hidden layers, or one per hidden layer."""
    names = parse_activation_names(text, "--activation")
    if len(names) == 1:
        return names[0]
    if len(names) != n_hidden:
        raise UserError(
            f"--activation lists {len(names)} activations for {n_hidden} hidden layers; "
            "give one for all or one per hidden layer."
        )
    return names


def parse_batch_size(text: str, solver: str, n: int) -> int:
    """ "auto" (full batch for gd, else min(200, n)), "full", or a positive integer."""
    cleaned = text.strip().lower()
    if cleaned == "full" or (cleaned == "auto" and solver == "gd"):
        return n
    if cleaned == "auto":
        return min(200, n)
    if cleaned.isdigit() and int(cleaned) >= 1:
        return min(int(cleaned), n)
    raise UserError(f"--batch-size must be a positive integer, 'auto' or 'full'; got {text!r}.")


def check_seed(seed: int) -> int:
    """--seed, which NumPy's generators take as a non-negative integer."""
    if seed < 0:
        raise UserError(f"--seed must be a non-negative integer; got {seed}.")
    return seed
