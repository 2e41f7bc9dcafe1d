"""Compute tiers: how much work a notebook does, read in exactly one place.

``VOCLAB_TIER`` is one of ``quick`` (CI: every notebook in at most 2 minutes on
2 CPU cores), ``standard`` (the default: a laptop CPU, at most 15 minutes per
notebook, audible results) or ``full`` (a GPU, more iterations, longer clips).

Notebook: every notebook reads its budget through :func:`by_tier`.
"""

from __future__ import annotations

import os
from typing import TypeVar

from .errors import ConfigError

TIERS = ("quick", "standard", "full")
DEFAULT_TIER = "standard"

T = TypeVar("T")


def current_tier() -> str:
    """Return the active compute tier, read from the ``VOCLAB_TIER`` environment variable.

    Returns
    -------
    tier : str
        ``"quick"``, ``"standard"`` (when the variable is unset or empty) or ``"full"``.

    Raises
    ------
    voclab.errors.ConfigError
        If ``VOCLAB_TIER`` holds anything else.

    Examples
    --------
    >>> import os; os.environ["VOCLAB_TIER"] = "quick"
    >>> current_tier()
    'quick'
    """
    value = os.environ.get("VOCLAB_TIER", "").strip().lower() or DEFAULT_TIER
    if value not in TIERS:
        raise ConfigError(
            f"VOCLAB_TIER={value!r} is not a tier. Set it to one of {', '.join(TIERS)} "
            f"(or unset it for {DEFAULT_TIER!r})."
        )
    return value


def by_tier(*, quick: T, standard: T, full: T | None = None) -> T:
    """Pick the value for the active tier.

    Parameters
    ----------
    quick, standard : any
        Values for the ``quick`` and ``standard`` tiers.
    full : any, optional
        Value for the ``full`` tier; defaults to ``standard``.

    Returns
    -------
    value : any
        The argument named by :func:`current_tier`.

    Examples
    --------
    >>> n_iter = by_tier(quick=16, standard=100, full=500)
    """
    tier = current_tier()
    if tier == "quick":
        return quick
    if tier == "full" and full is not None:
        return full
    return standard
