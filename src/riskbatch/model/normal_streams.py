"""Standard normal streams drawn in compiled code on every core, each the numbers numpy draws for it.

A scenario block's normals are one stream per factor: numpy's Generator(PCG64(SeedSequence(entropy)))
.standard_normal, the entropy (seed, block, factor key). Built in Python, each stream's generator
holds the GIL for tens of microseconds (thousands of streams a night) and numpy draws a normal at a
time through a function pointer. Here the seeding and the draws are compiled, and the streams of a
block are filled in parallel, one stream per iteration with its own state: a stream's numbers do not
depend on the number of threads nor on which thread draws it (common random numbers).

Each step is numpy's published algorithm (numpy/random/bit_generator.pyx, pcg64.h, distributions.c):
- SeedSequence: the entropy as 32-bit words (each integer little-endian, zero as one word), mixed into
  a pool of four words (hashmix, mix), from which the bit generator's state words are drawn;
- PCG64: its 128-bit state and increment from the first four 64-bit state words
  (pcg_setseq_128_srandom_r), then per number one step of the 128-bit LCG and the XSL-RR output;
- standard_normal: the 256-layer ziggurat (random_standard_normal), on numpy's tables as numba
  publishes them for its own Generator support (numba.np.random._constants).
test/jobs/model/test_normal_streams.py holds the streams to numpy's bit for bit.
"""

from __future__ import annotations

import math

import llvmlite.ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

MASK32 = np.uint64(0xFFFFFFFF)
SHIFT16, SHIFT32, SHIFT63 = np.uint64(16), np.uint64(32), np.uint64(63)
ONE, ZERO = np.uint64(1), np.uint64(0)
# SeedSequence's hash constants
INIT_A, MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
INIT_B, MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
MIX_MULT_L, MIX_MULT_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
POOL = 4
# PCG's default 128-bit multiplier
PCG_MULTIPLIER = (2549297995355413924 << 64) | 4865540595714422341
TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53: a double in [0, 1) from the top 53 bits
KI = ki_double.astype(np.uint64)
SIGN = np.array([1.0, -1.0])
WI, FI = wi_double.astype(np.float64), fi_double.astype(np.float64)


@intrinsic
def _lcg_step(typingctx, high, low, increment_high, increment_low):
    """(state x multiplier + increment) mod 2^128 on (high, low) words, in LLVM's 128-bit integers."""
    signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, sig, arguments):
        wide, word = llvmlite.ir.IntType(128), llvmlite.ir.IntType(64)
        sixty_four = llvmlite.ir.Constant(wide, 64)

        def joined(high_word, low_word):
            return builder.or_(builder.shl(builder.zext(high_word, wide), sixty_four), builder.zext(low_word, wide))

        state = builder.add(builder.mul(joined(arguments[0], arguments[1]), llvmlite.ir.Constant(wide, PCG_MULTIPLIER)), joined(arguments[2], arguments[3]))
        parts = [builder.trunc(builder.lshr(state, sixty_four), word), builder.trunc(state, word)]
        return context.make_tuple(builder, sig.return_type, parts)

    return signature, codegen


@numba.njit(inline="always")
def _hashmix(value, constant):
    value = value ^ constant
    constant = (constant * MULT_A) & MASK32
    value = (value * constant) & MASK32
    return value ^ (value >> SHIFT16), constant


@numba.njit(inline="always")
def _mix(x, y):
    result = (MIX_MULT_L * x - MIX_MULT_R * y) & MASK32
    return result ^ (result >> SHIFT16)


@numba.njit(inline="always")
def _seeded(words, length):
    """PCG64's (state high, state low, increment high, increment low) for SeedSequence(entropy words)."""
    pool = np.empty(POOL, np.uint64)
    constant = INIT_A
    for i in range(POOL):
        pool[i], constant = _hashmix(np.uint64(words[i]) if i < length else ZERO, constant)
    for source in range(POOL):
        for target in range(POOL):
            if source != target:
                hashed, constant = _hashmix(pool[source], constant)
                pool[target] = _mix(pool[target], hashed)
    for source in range(POOL, length):
        for target in range(POOL):
            hashed, constant = _hashmix(np.uint64(words[source]), constant)
            pool[target] = _mix(pool[target], hashed)
    # generate_state(4, uint64): eight 32-bit words from the pool in turn, paired little-endian
    state = np.empty(4, np.uint64)
    constant = INIT_B
    for i in range(8):
        value = pool[i % POOL] ^ constant
        constant = (constant * MULT_B) & MASK32
        value = (value * constant) & MASK32
        value = value ^ (value >> SHIFT16)
        if i % 2 == 0:
            state[i // 2] = value
        else:
            state[i // 2] |= value << SHIFT32
    # pcg_setseq_128_srandom_r(initstate = state[0]:state[1], initseq = state[2]:state[3])
    increment_high = (state[2] << ONE) | (state[3] >> SHIFT63)
    increment_low = (state[3] << ONE) | ONE
    high, low = _lcg_step(ZERO, ZERO, increment_high, increment_low)
    low_sum = low + state[1]
    high = high + state[0] + (ONE if low_sum < low else ZERO)
    high, low = _lcg_step(high, low_sum, increment_high, increment_low)
    return high, low, increment_high, increment_low


@numba.njit(inline="always")
def _next_uint64(high, low, increment_high, increment_low):
    """The next 64-bit number and the new state: one LCG step, then XSL-RR of the new state."""
    high, low = _lcg_step(high, low, increment_high, increment_low)
    folded = high ^ low
    rotation = high >> np.uint64(58)
    return (folded >> rotation) | (folded << ((np.uint64(64) - rotation) & SHIFT63)), high, low


@numba.njit(inline="always")
def _next_double(high, low, increment_high, increment_low):
    bits, high, low = _next_uint64(high, low, increment_high, increment_low)
    return np.float64(np.int64(bits >> np.uint64(11))) * TO_UNIT, high, low


@numba.njit
def _fill_stream(out, high, low, increment_high, increment_low):
    """Fill `out` with the stream's standard normals (numpy's random_standard_normal, draw by draw)."""
    for n in range(out.shape[0]):
        while True:
            bits, high, low = _next_uint64(high, low, increment_high, increment_low)
            layer = np.intp(bits & np.uint64(0xFF))
            bits >>= np.uint64(8)
            magnitude = (bits >> ONE) & np.uint64(0x000FFFFFFFFFFFFF)
            # the sign as a factor of +-1 (exact): a branch on a random bit mispredicts half the time;
            # the magnitude (< 2^52) converted as a signed integer, one instruction
            x = np.float64(np.int64(magnitude)) * WI[layer] * SIGN[np.intp(bits & ONE)]
            if magnitude < KI[layer]:
                out[n] = x
                break
            if layer == 0:  # the tail beyond the base layer's edge
                while True:
                    first, high, low = _next_double(high, low, increment_high, increment_low)
                    second, high, low = _next_double(high, low, increment_high, increment_low)
                    xx = -ziggurat_nor_inv_r * math.log1p(-first)
                    yy = -math.log1p(-second)
                    if yy + yy > xx * xx:
                        break
                out[n] = -(ziggurat_nor_r + xx) if (magnitude >> np.uint64(8)) & ONE else ziggurat_nor_r + xx
                break
            uniform, high, low = _next_double(high, low, increment_high, increment_low)
            if (FI[layer - 1] - FI[layer]) * uniform + FI[layer] < math.exp(-0.5 * x * x):
                out[n] = x
                break


@numba.njit(parallel=True, cache=True)
def streams_into(out, words, lengths):
    for row in numba.prange(out.shape[0]):
        high, low, increment_high, increment_low = _seeded(words[row], lengths[row])
        _fill_stream(out[row], high, low, increment_high, increment_low)


def _int_words(value: int) -> list[int]:
    """An integer as SeedSequence takes it: 32-bit words, least significant first (zero is one word)."""
    if value < 0:
        raise ValueError("stream entropy is non-negative")
    words = [value & 0xFFFFFFFF]
    value >>= 32
    while value:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return words


def stream_entropy(prefix: list[int], keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each stream's entropy (prefix..., key) as SeedSequence's 32-bit words: a streams x words array
    and each row's length (a key below 2^32 is one word, others two)."""
    head = [word for value in prefix for word in _int_words(int(value))]
    keys = np.asarray(keys, dtype=np.uint64)
    words = np.zeros((len(keys), len(head) + 2), dtype=np.uint32)
    words[:, : len(head)] = head
    words[:, len(head)] = keys & MASK32
    words[:, len(head) + 1] = keys >> SHIFT32
    lengths = len(head) + 1 + (keys >> SHIFT32 > 0).astype(np.int64)
    return words, lengths


def fill_normal_streams(out: np.ndarray, prefix: list[int], keys: np.ndarray) -> np.ndarray:
    """Row i of `out` (streams x draws) filled with the first draws of the stream (prefix..., keys[i]):
    np.random.Generator(np.random.PCG64(np.random.SeedSequence([*prefix, keys[i]]))).standard_normal."""
    if out.ndim != 2 or out.shape[0] != len(keys) or out.dtype != np.float64:
        raise ValueError("one float64 row per stream key")
    words, lengths = stream_entropy(prefix, keys)
    streams_into(out, words, lengths)
    return out
