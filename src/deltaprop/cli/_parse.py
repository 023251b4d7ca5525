"""Options given as text (layer widths, activations, a batch size) turned into values, or a UserError."""

from __future__ import annotations

import math

from deltaprop.activations import activation_names
from deltaprop.cli._errors import UserError

# The widest layer the command line builds: beyond it, a typo (an extra zero or three) is likelier
# than intent, and the memory check would refuse the network anyway.
MAX_WIDTH = 10**7


def parse_sizes(text: str, option: str, *, allow_empty: bool = False) -> list[int]:
    """ "64,32" -> [64, 32]; "none" or "" -> [] where allowed.

    "0" is refused rather than read as "no hidden layer": a width of 0 is no layer at all,
    and a network without hidden layers is asked for by name ("none").
    """
    cleaned = text.strip().lower()
    if allow_empty and cleaned in ("", "none"):
        return []
    if allow_empty and cleaned == "0":
        raise UserError(
            f"{option} 0 is not a layer width; for a network without hidden layers give {option} none."
        )
    try:
        sizes = [int(part) for part in cleaned.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        example = "64,32 (or none)" if allow_empty else "4,8,3"
        raise UserError(
            f"{option} must be comma-separated positive integers such as {example}; got {text!r}."
        )
    if max(sizes) > MAX_WIDTH:
        raise UserError(
            f"{option} asks for a layer of {max(sizes):,} units; at most {MAX_WIDTH:,} are allowed."
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
    if cleaned.isascii() and cleaned.isdigit() and int(cleaned) >= 1:
        return min(int(cleaned), n)
    raise UserError(f"--batch-size must be a positive integer, 'auto' or 'full'; got {text!r}.")


def check_seed(seed: int) -> int:
    """--seed, which NumPy's generators take as a non-negative integer."""
    if seed < 0:
        raise UserError(f"--seed must be a non-negative integer; got {seed}.")
    return seed


def check_number(
    value: float,
    option: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A numeric option's value, finite and in its range, or a UserError naming the option.

    NaN and infinities are refused first: a comparison with NaN is always False, so a
    range check alone would let ``--tol nan`` through.
    """
    if not math.isfinite(value):
        raise UserError(f"{option} must be a finite number; got {value}.")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        right = "" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        if low is not None and high is not None:
            wanted = f"in {left}, {right}"
        elif low == 0:
            wanted = "a non-negative number" if low_inclusive else "a positive number"
        elif low is not None:
            wanted = f"{'at least' if low_inclusive else 'above'} {low:g}"
        else:
            wanted = f"{'at most' if high_inclusive else 'below'} {high:g}"
        raise UserError(f"{option} must be {wanted}; got {value:g}.")
    return value
