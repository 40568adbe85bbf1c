"""Fargate task sizes and prices."""

from __future__ import annotations

# CPU units -> the memory sizes (MiB) Fargate accepts with them (ECS developer guide, task size).
TASK_SIZES: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}

# Linux/x86_64 prices in us-east-1, USD, as published by AWS for Fargate and Fargate Spot.
# Spot prices move; pass current ones to `riskbatch plan`.
PRICES_AS_OF = "2025-01"
ON_DEMAND_VCPU_HOUR = 0.04048
ON_DEMAND_GB_HOUR = 0.004445
SPOT_VCPU_HOUR = 0.01334058
SPOT_GB_HOUR = 0.00146489


def is_valid_size(cpu_units: int, memory_mib: int) -> bool:
    return memory_mib in TASK_SIZES.get(cpu_units, [])


def smallest_memory(cpu_units: int, needed_mib: float) -> int | None:
    """The smallest valid memory for this CPU that holds needed_mib, or None."""
    for memory in TASK_SIZES[cpu_units]:
        if memory >= needed_mib:
            return memory
    return None
