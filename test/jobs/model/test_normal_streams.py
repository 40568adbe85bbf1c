"""The compiled normal streams are numpy's streams, bit for bit, whatever the number of threads:
common random numbers across nights and workers rest on it."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from riskbatch.model.normal_streams import fill_normal_streams, stream_entropy
from riskbatch.model.risk_model import factor_keys


def numpy_stream(entropy: list[int], draws: int) -> np.ndarray:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy))).standard_normal(draws)


# keys as the engine makes them (64-bit hashes of factor names), and the edges of SeedSequence's
# word encoding: zero, one word, the largest one-word key, the smallest two-word key, the largest key
KEYS = np.concatenate([factor_keys([f"FACTOR_{n}" for n in range(12)]), np.array([0, 1, 2**32 - 1, 2**32, 2**64 - 1], dtype=np.uint64)])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("seed, block", [(1, 0), (1, 12), (20_261_207, 3), (2**40 + 3, 0)])
def test_each_row_is_numpys_stream_for_its_entropy_bit_for_bit(seed: int, block: int, threads: int) -> None:
    """About 1.7 million draws per case: the ziggurat's rare paths (the wedges, about 1 draw in 100,
    and the tail beyond the base layer, about 1 in 4,000) are taken hundreds of times each."""
    draws = 100_003  # odd: nothing rests on a round length
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        drawn = fill_normal_streams(np.empty((len(KEYS), draws)), [seed, block], KEYS)
    finally:
        numba.set_num_threads(before)
    expected = np.vstack([numpy_stream([seed, block, key], draws) for key in KEYS.tolist()])
    assert np.array_equal(drawn, expected), f"{int(np.sum(drawn != expected))} draws differ"
    assert np.any(np.abs(drawn) > 3.6541528853610088)  # the tail was drawn (numpy's ziggurat_nor_r)


def test_the_entropy_words_are_seed_sequences() -> None:
    """SeedSequence takes each integer as 32-bit words, least significant first, zero as one word."""
    words, lengths = stream_entropy([2**33 + 5, 0], np.array([7, 2**32 + 9], dtype=np.uint64))
    assert lengths.tolist() == [4, 5]
    assert words[0, :4].tolist() == [5, 2, 0, 7] and words[1].tolist() == [5, 2, 0, 9, 1]


def test_a_row_that_is_not_a_float64_stream_is_refused() -> None:
    with pytest.raises(ValueError, match="one float64 row per stream key"):
        fill_normal_streams(np.empty((2, 10)), [1, 0], KEYS)
