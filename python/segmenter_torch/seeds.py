"""Deterministic seeds derived from a base seed and indices, as the .NET trainer's ``Seeds.Mix``.

SplitMix64 mixing: the same inputs give the same seed in every process, on every machine, so the
sample order, the augmentation and the dropout masks are functions of the run's seed and the step,
never of the process that happens to compute them.
"""

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _splitmix(x: int) -> int:
    x = (x + _GOLDEN) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def mix(seed: int, *indices: int) -> int:
    """A 31-bit seed mixing ``seed`` with ``indices`` (bit-identical to ``Seeds.Mix`` in C#)."""
    state = seed & _MASK64
    for index in indices:
        state = _splitmix(state ^ _splitmix((index + _GOLDEN) & _MASK64))
    return _splitmix(state) & 0x7FFFFFFF
