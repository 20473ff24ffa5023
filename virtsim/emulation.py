"""Emulation on every CPU-bound stage: what translated code costs a start.

Under full-system emulation (QEMU TCG, no KVM) every instruction the guest
runs is translated: not only its firmware but its kernel, its init and its
user space, and the application. A stage's CPU-seconds grow by the
emulation profile's integer factor, and its duration by the extra CPU time;
its waits (device timeouts, network) and its disk reads do not change.

Under user-mode emulation (an image for another architecture run through
binfmt_misc) only the container's own process is translated: its CPU time
by the integer factor, and each image it executes is translated afresh
(``exec_s_per_mib`` for every MiB it reads to start).

Boot code is integer code; floating point costs more (``float_factor``),
which :func:`cpu_factor` blends for work with a known floating-point share.
"""

from __future__ import annotations

from virtsim.distributions import Constant, LogNormal
from virtsim.profiles import EmulationProfile, Stage

EMULATED_OWNERS = frozenset({"kernel", "disk-image", "app"})
"""Stage owners whose work runs as guest code (VMM and firmware stages are the
emulator's own and carry their cost in their profiles)."""


def cpu_factor(profile: EmulationProfile, float_share: float = 0.0) -> float:
    """CPU-time multiplier for work with ``float_share`` (0 to 1) of floating point."""
    if not 0.0 <= float_share <= 1.0:
        raise ValueError(f'"float_share" must be within [0, 1], got {float_share}')
    return (1.0 - float_share) * profile.integer + float_share * profile.float_factor


def emulated_stage(stage: Stage, profile: EmulationProfile, float_share: float = 0.0) -> Stage:
    """``stage`` as it runs translated: more CPU, longer by the extra CPU time.

    The stage's duration keeps its shape (a lognormal stays lognormal with the
    same spread); its mean grows by the extra CPU-seconds, plus the
    re-translation of what it executes under user-mode emulation.
    """
    extra = stage.cpu_s * (cpu_factor(profile, float_share) - 1.0)
    extra += stage.read_mib * profile.exec_s_per_mib if profile.mode == "user" else 0.0
    if extra <= 0:
        return stage
    wall = stage.wall_s
    mean = wall.mean + extra
    if isinstance(wall, LogNormal):
        longer: object = LogNormal.model_validate(
            {"dist": "lognormal", "mean": mean, "cv": wall.cv * wall.mean / mean})
    else:
        longer = Constant(dist="constant", value=mean)
    return stage.model_copy(update={
        "wall_s": longer, "cpu_s": stage.cpu_s + extra,
        "source": f"{stage.source}; emulated under {profile.name}"})
