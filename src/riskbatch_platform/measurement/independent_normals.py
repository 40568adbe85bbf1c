"""The bound's normal draws: the engine's streams (one per factor and block, numpy's
Generator(PCG64(SeedSequence([seed, block, key]))).standard_normal), written here from numpy's
published algorithms and sharing no code with the engine's draw (riskbatch.model.normal_streams).

- Seeding, vectorised over a block's streams in numpy (every stream's hash constants are the same
  sequence, so one pass of array arithmetic on 32-bit words mixes them all): SeedSequence's pool of
  four words from the entropy words, then the eight 32-bit state words drawn from it.
- PCG64 (numpy's: the 128-bit LCG and the XSL-RR output) in compiled code, a number as the
  ziggurat asks for it (generating a buffer ahead measured 40 % slower: the stores and the loads
  cost more than the multiply chain they would hide).
- The ziggurat (random_standard_normal), on numpy's tables as numba publishes them.

Every stream on every core (prange over streams, each its own state): the numbers do not depend
on the thread count. test_engine_bound.py holds them to numpy's bit for bit.
"""

from __future__ import annotations

import math

import llvmlite.ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

WORD = 0xFFFFFFFF
MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645  # PCG's default 128-bit multiplier
LAYER_EDGE = ki_double.astype(np.uint64)
LAYER_WIDTH, LAYER_HEIGHT = wi_double.astype(np.float64), fi_double.astype(np.float64)
SIGNED = np.array([1.0, -1.0])


def _words(value: int) -> list[int]:
    found = [value & WORD]
    while value >> 32:
        value >>= 32
        found.append(value & WORD)
    return found


def seed_words(seed: int, block: int, keys: np.ndarray) -> np.ndarray:
    """PCG64's seeding words of each stream (seed, block, key): streams x 4 uint64 (initstate high,
    low, initseq high, low), as SeedSequence.generate_state(4, uint64) gives them."""
    keys = np.asarray(keys, dtype=np.uint64)
    head = _words(seed) + _words(block)
    low, high = (keys & np.uint64(WORD)).astype(np.uint32), (keys >> np.uint64(32)).astype(np.uint32)
    entropy = [np.full(len(keys), word, np.uint32) for word in head] + [low, high]
    present = [np.ones(len(keys), bool)] * (len(head) + 1) + [high > 0]  # a key below 2^32 is one word
    constant = 0x43B0D7E5

    def hashed(value: np.ndarray) -> np.ndarray:
        nonlocal constant
        value = value ^ np.uint32(constant)
        constant = (constant * 0x931E8875) & WORD
        value = value * np.uint32(constant)
        return value ^ (value >> np.uint32(16))

    def mixed(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        value = np.uint32(0xCA01F9DD) * x - np.uint32(0x4973F715) * y
        return value ^ (value >> np.uint32(16))

    zero = np.zeros(len(keys), np.uint32)
    pool = [hashed(np.where(present[i], entropy[i], zero) if i < len(entropy) else zero) for i in range(4)]
    for source in range(4):
        for target in range(4):
            if source != target:
                pool[target] = mixed(pool[target], hashed(pool[source]))
    for source in range(4, len(entropy)):  # the words beyond the pool, in rows that have them
        for target in range(4):
            pool[target] = np.where(present[source], mixed(pool[target], hashed(entropy[source])), pool[target])
    state = np.empty((len(keys), 8), np.uint32)
    constant = 0x8B51F9DD
    for word in range(8):
        value = pool[word % 4] ^ np.uint32(constant)
        constant = (constant * 0x58F38DED) & WORD
        value = value * np.uint32(constant)
        state[:, word] = value ^ (value >> np.uint32(16))
    return state.view(np.uint64)  # little-endian pairs, as generate_state(4, uint64)


@intrinsic
def _mul_add(typingctx, state_high, state_low, add_high, add_low):
    """(state x MULTIPLIER + add) mod 2^128, as (high, low)."""
    signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, sig, arguments):
        i128, i64 = llvmlite.ir.IntType(128), llvmlite.ir.IntType(64)

        def wide(high, low):
            return builder.add(builder.mul(builder.zext(high, i128), llvmlite.ir.Constant(i128, 1 << 64)), builder.zext(low, i128))

        result = builder.add(builder.mul(wide(arguments[0], arguments[1]), llvmlite.ir.Constant(i128, MULTIPLIER)), wide(arguments[2], arguments[3]))
        high = builder.trunc(builder.lshr(result, llvmlite.ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, sig.return_type, [high, builder.trunc(result, i64)])

    return signature, codegen


@numba.njit(inline="always")
def _next(high, low, inc_high, inc_low):
    """The stream's next 64-bit number: the LCG's step, then XSL-RR of the new state."""
    high, low = _mul_add(high, low, inc_high, inc_low)
    mixed = high ^ low
    turn = high >> np.uint64(58)
    return (mixed >> turn) | (mixed << ((np.uint64(64) - turn) & np.uint64(63))), high, low


@numba.njit(inline="always")
def _uniform(high, low, inc_high, inc_low):
    bits, high, low = _next(high, low, inc_high, inc_low)
    return np.float64(np.int64(bits >> np.uint64(11))) * (1.0 / 9007199254740992.0), high, low


@numba.njit(parallel=True, cache=True)
def normals_into(out, seeds):
    """Row s of `out` the first out.shape[1] standard normals of the stream seeded by seeds[s]."""
    for stream in numba.prange(out.shape[0]):
        row = out[stream]
        inc_high = (seeds[stream, 2] << np.uint64(1)) | (seeds[stream, 3] >> np.uint64(63))
        inc_low = (seeds[stream, 3] << np.uint64(1)) | np.uint64(1)
        high, low = _mul_add(np.uint64(0), np.uint64(0), inc_high, inc_low)
        added = low + seeds[stream, 1]
        high, low = _mul_add(high + seeds[stream, 0] + np.uint64(added < low), added, inc_high, inc_low)
        n = 0
        while n < row.shape[0]:
            bits, high, low = _next(high, low, inc_high, inc_low)
            layer = np.intp(bits & np.uint64(255))
            rabs = (bits >> np.uint64(9)) & np.uint64(0xFFFFFFFFFFFFF)
            x = np.float64(np.int64(rabs)) * LAYER_WIDTH[layer] * SIGNED[np.intp((bits >> np.uint64(8)) & np.uint64(1))]
            if rabs < LAYER_EDGE[layer]:
                row[n] = x
                n += 1
            elif layer == 0:
                while True:
                    first, high, low = _uniform(high, low, inc_high, inc_low)
                    second, high, low = _uniform(high, low, inc_high, inc_low)
                    xx = -ziggurat_nor_inv_r * math.log1p(-first)
                    yy = -math.log1p(-second)
                    if yy + yy > xx * xx:
                        break
                row[n] = -(ziggurat_nor_r + xx) if (rabs >> np.uint64(8)) & np.uint64(1) else ziggurat_nor_r + xx
                n += 1
            else:
                uniform, high, low = _uniform(high, low, inc_high, inc_low)
                if (LAYER_HEIGHT[layer - 1] - LAYER_HEIGHT[layer]) * uniform + LAYER_HEIGHT[layer] < math.exp(-0.5 * x * x):
                    row[n] = x
                    n += 1


def stream_normals(out: np.ndarray, seed: int, block: int, keys: np.ndarray) -> np.ndarray:
    """`out` (streams x draws, float64) filled with the streams (seed, block, keys[s])."""
    normals_into(out, np.ascontiguousarray(seed_words(seed, block, keys)))
    return out
