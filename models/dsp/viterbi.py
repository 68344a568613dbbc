"""librosa's Viterbi decoding, the same states and log-probability, for sparse transition matrices.

pYIN decodes 798 states (399 pitch bins, voiced and unvoiced) with a transition matrix that is
zero outside a band of +-45 bins in each voicing block: each state has at most 182 possible
predecessors, yet ``librosa.sequence.viterbi`` adds and compares all 798 for every state and
frame. That was 80 % of the voice features' time (0.14 s of 0.18 s for a 3.5 s turn here).

:func:`viterbi` visits only each state's possible predecessors, with the same float64 sums as
librosa's kernel (``value[t-1, i] + log_trans[i, j]``, then ``log_prob[t, j]`` added), so the
chosen predecessors, ties included (the lowest index wins), are librosa's. A zero transition is
not impossible there: librosa takes ``log(0 + tiny)``, a finite constant ``c``. Every such
predecessor sums to at most ``max(value[t-1]) + c`` (rounding is monotonic), so where the best
possible predecessor beats that bound it is librosa's choice; where it does not (a state whose
neighbours are all far less likely than some distant state), that state's whole row is
compared, as librosa does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


def viterbi(
    prob: npt.NDArray[Any],
    transition: npt.NDArray[np.float64],
    *,
    p_init: npt.NDArray[np.float64] | None = None,
    return_logp: bool = False,
) -> Any:
    """``librosa.sequence.viterbi`` (same arguments, checks, results and dtypes)."""
    n_states = prob.shape[-2]
    if transition.shape != (n_states, n_states):
        raise ValueError(f"transition.shape={transition.shape}, must be {(n_states, n_states)}")
    epsilon = _tiny(prob)
    log_trans, sources, weights = _prepared(transition, epsilon)
    if np.any(prob < 0) or np.any(prob > 1):
        raise ValueError("Invalid probability values: must be between 0 and 1.")
    if p_init is None:
        p_init = np.full(n_states, 1.0 / n_states)
    elif np.any(p_init < 0) or not np.allclose(p_init.sum(), 1) or p_init.shape != (n_states,):
        raise ValueError(f"Invalid initial state distribution: p_init={p_init}")
    log_prob = np.log(prob + epsilon)
    log_p_init = np.log(p_init + epsilon)
    off_support = float(np.log(np.zeros(1) + epsilon)[0])  # log_trans where transition is 0

    flat = log_prob.reshape(-1, *log_prob.shape[-2:])
    states = np.empty((flat.shape[0], flat.shape[-1]), dtype=np.uint16)
    logp = np.empty((flat.shape[0], 1), dtype=np.float64)
    for n, lp in enumerate(flat):
        states[n], logp[n] = _decode(lp.T, log_trans, log_p_init, sources, weights, off_support)
    states = states.reshape(*log_prob.shape[:-2], log_prob.shape[-1])
    if return_logp:
        return states, (logp.reshape(log_prob.shape[:-2]) if log_prob.ndim > 2 else logp[0])
    return states


def _tiny(x: npt.NDArray[Any]) -> Any:
    """librosa's ``util.tiny``: the smallest normal number of ``x``'s float type, as a scalar
    of that type (the sums it enters take their type from it as librosa's do)."""
    floating = np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.complexfloating)
    return np.finfo(x.dtype if floating else np.dtype(np.float32)).tiny


_PREPARED: dict[tuple[int, str], tuple[Float, Float, Index, Float]] = {}
_MAX_PREPARED = 8


def _prepared(transition: Float, epsilon: Any) -> tuple[Float, Index, Float]:
    """The checked matrix's ``log(transition + epsilon)`` and each state's predecessors; kept
    for a read-only matrix that owns its data (pYIN's, built once: it cannot change), which
    saves a third of a turn's decoding."""
    frozen = not transition.flags.writeable and transition.flags.owndata
    key = (id(transition), np.asarray(epsilon).dtype.str)
    kept = _PREPARED.get(key) if frozen else None
    if kept is not None and kept[0] is transition:
        return kept[1:]
    if np.any(transition < 0) or not np.allclose(transition.sum(axis=1), 1):
        raise ValueError(
            "Invalid transition matrix: must be non-negative and sum to 1 on each row."
        )
    log_trans = np.log(transition + epsilon)
    sources, weights = _predecessors(transition, log_trans)
    if frozen:
        while len(_PREPARED) >= _MAX_PREPARED:
            _PREPARED.pop(next(iter(_PREPARED)))
        _PREPARED[key] = (transition, log_trans, sources, weights)  # holds it: the id stays its
    return log_trans, sources, weights


def _predecessors(transition: Float, log_trans: Float) -> tuple[Index, Float]:
    """Each state's possible predecessors in ascending order (padded with state 0 at weight
    -inf) and the log-probabilities of those transitions."""
    rows, cols = np.nonzero(transition.T > 0)  # (state, predecessor), sorted by state
    counts = np.bincount(rows, minlength=transition.shape[0])
    width = max(int(counts.max(initial=0)), 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(rows)) - starts[rows]
    sources = np.zeros((transition.shape[0], width), dtype=np.intp)
    weights = np.full((transition.shape[0], width), -np.inf)
    sources[rows, position] = cols
    weights[rows, position] = log_trans[cols, rows]
    return sources, weights


def _decode(
    log_prob: npt.NDArray[Any],
    log_trans: Float,
    log_p_init: Float,
    sources: Index,
    weights: Float,
    off_support: float,
) -> tuple[npt.NDArray[np.uint16], Float]:
    """librosa's ``_viterbi`` on (frames, states) log-probabilities."""
    n_steps, n_states = log_prob.shape
    states = np.arange(n_states)
    value = np.zeros((n_steps, n_states), dtype=np.float64)
    ptr = np.zeros((n_steps, n_states), dtype=np.uint16)
    value[0] = log_prob[0] + log_p_init
    for t in range(1, n_steps):
        previous = value[t - 1]
        candidates = previous[sources] + weights
        choice = np.argmax(candidates, axis=1)
        best = candidates[states, choice]
        chosen = sources[states, choice]
        unsure = np.flatnonzero(~(best > float(previous.max()) + off_support))
        if len(unsure):  # a predecessor outside the band may do as well: the whole rows
            rows = previous[None, :] + log_trans[:, unsure].T
            whole = np.argmax(rows, axis=1)
            chosen[unsure] = whole
            best[unsure] = rows[np.arange(len(unsure)), whole]
        ptr[t] = chosen
        value[t] = log_prob[t] + best
    path = np.zeros(n_steps, dtype=np.uint16)
    path[-1] = np.argmax(value[-1])
    for t in range(n_steps - 2, -1, -1):
        path[t] = ptr[t + 1, path[t + 1]]
    return path, value[-1:, path[-1]]
