"""Every statement's rule reaches each of its outcomes on synthetic tables.

Each test builds the smallest tables a rule reads, with numbers chosen to
put it on one side of its threshold, and checks the verdict and that the
reason carries the deciding numbers. Nothing here runs a simulation.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.paths import ROOT
from virtsim.experiment import load_experiment

Rows = list[dict[str, Any]]


def _load(stem: str) -> Any:
    return load_experiment(ROOT / "experiments" / f"{stem}.py")


C1, C2, C3, C4 = (_load(s) for s in ("c01_stack", "c02_footprint", "c03_startup",
                                     "c04_performance"))
C5, C6, C7, C8 = (_load(s) for s in ("c05_blast_radius", "c06_use_cases", "c07_management",
                                     "c08_kernel_family"))
C9, C10, C11, C12 = (_load(s) for s in ("c09_desktop", "c10_emulation", "c11_distributions",
                                        "c12_no_kernel"))
C13, C14 = _load("c13_scratch"), _load("c14_alpine")

SUPPORTED, PARTLY, CONTRADICTED = "supported", "partly supported", "contradicted"


# -- C1 ----------------------------------------------------------------------

def _stacks(vm_own: bool = True, micro_own: bool = True, runc_role: str = "host",
            vm_mib: float = 1000.0, runc_mib: float = 50.0) -> dict[str, dict[str, Any]]:
    def row(own: bool, role: str, mib: float, hyper: bool) -> dict[str, Any]:
        return {"own_kernel": own, "hypervisor_on_path": hyper, "nearest_kernel": "k",
                "nearest_kernel_role": role, "stack_memory_mib": mib}

    return {"vm": row(vm_own, "guest", vm_mib, True),
            "microvm": row(micro_own, "guest", 130.0, True),
            "container": row(False, runc_role, runc_mib, False),
            "gvisor": row(True, "sandbox", 80.0, False)}


@pytest.mark.parametrize(("vm", "micro", "verdict"), [
    (True, True, SUPPORTED), (True, False, PARTLY), (False, False, CONTRADICTED)])
def test_c1_vm_own_kernel(vm: bool, micro: bool, verdict: str) -> None:
    assert C1.vm_own_kernel(_stacks(vm_own=vm, micro_own=micro)).verdict == verdict


@pytest.mark.parametrize(("role", "verdict"), [("host", SUPPORTED), ("guest", CONTRADICTED)])
def test_c1_container_shares_kernel_judges_runc_and_only_reports_sandboxes(
        role: str, verdict: str) -> None:
    statement = C1.container_shares_kernel(_stacks(runc_role=role))
    assert statement.verdict == verdict
    assert "gVisor" in statement.reason  # reported beside, never judged


@pytest.mark.parametrize(("vm_mib", "verdict"), [
    (1000.0, SUPPORTED), (200.0, PARTLY), (40.0, CONTRADICTED)])
def test_c1_container_lighter(vm_mib: float, verdict: str) -> None:
    statement = C1.container_lighter(_stacks(vm_mib=vm_mib, runc_mib=50.0))
    assert statement.verdict == verdict
    assert f"{vm_mib / 50.0:.1f}x" in statement.reason


# -- C2 ----------------------------------------------------------------------

def _footprint(vm_mib: float = 1100.0, ksm_mib: float = 1100.0, ct_mib: float = 5.0,
               vm_image: float = 2000.0, ct_image: float = 8.0) -> dict[str, Rows]:
    memory = {"vm-full": vm_mib, "vm-linked": vm_mib, "vm-ksm-balloon": ksm_mib,
              "vm-windows": 2000.0, "microvm": 130.0, "container-debian": ct_mib,
              "container-alpine": ct_mib, "container-scratch": ct_mib,
              "container-servercore": ct_mib}
    images = {"vm-full": vm_image, "vm-linked": vm_image, "vm-ksm-balloon": vm_image,
              "vm-windows": 6000.0, "microvm": 64.0, "container-debian": ct_image,
              "container-alpine": ct_image, "container-scratch": ct_image,
              "container-servercore": ct_image}
    return {"sweep": [{"variant": v, "instance_memory_mib": m} for v, m in memory.items()],
            "artefacts": [{"variant": v, "file_mib": m} for v, m in images.items()]}


@pytest.mark.parametrize(("vm_image", "verdict"), [(2000.0, SUPPORTED), (500.0, PARTLY)])
def test_c2_vm_images_gigabytes(vm_image: float, verdict: str) -> None:
    statement = C2.vm_images_gigabytes(_footprint(vm_image=vm_image))
    assert statement.verdict == verdict
    assert "microVM" in statement.reason  # beside, not judged


@pytest.mark.parametrize(("vm_mib", "ksm_mib", "verdict"), [
    (1100.0, 1100.0, SUPPORTED), (1100.0, 130.0, PARTLY)])
def test_c2_vm_memory_gigabytes(vm_mib: float, ksm_mib: float, verdict: str) -> None:
    assert C2.vm_memory_gigabytes(_footprint(vm_mib, ksm_mib)).verdict == verdict


def test_c2_vm_memory_contradicted_when_every_vm_is_small() -> None:
    tables = _footprint(vm_mib=300.0, ksm_mib=100.0)
    for row in tables["sweep"]:
        if row["variant"] == "vm-windows":
            row["instance_memory_mib"] = 500.0
    assert C2.vm_memory_gigabytes(tables).verdict == CONTRADICTED


@pytest.mark.parametrize(("ct_mib", "verdict"), [(5.0, SUPPORTED), (2048.0, CONTRADICTED)])
def test_c2_container_memory_megabytes(ct_mib: float, verdict: str) -> None:
    assert C2.container_memory_megabytes(_footprint(ct_mib=ct_mib)).verdict == verdict


def test_c2_container_images_megabytes_each_outcome() -> None:
    assert C2.container_images_megabytes(_footprint(ct_image=8.0)).verdict == SUPPORTED
    assert C2.container_images_megabytes(_footprint(ct_image=4096.0)).verdict == CONTRADICTED
    tables = _footprint(ct_image=8.0)
    tables["artefacts"][-1]["file_mib"] = 4096.0
    statement = C2.container_images_megabytes(tables)
    assert statement.verdict == PARTLY and "4.0 GiB" in statement.reason


# -- C3 ----------------------------------------------------------------------

def _starts(**medians: float) -> dict[str, Rows]:
    base = {"vm-windows": 30.0, "vm-ubuntu": 15.0, "vm-alpine": 3.0, "microvm": 0.2,
            "docker-warm": 0.7, "docker-cold": 2.0, "gvisor": 0.8, "kata": 0.6}
    base.update(medians)
    return {"starts": [{"variant": v, "ready_s": t} for v, t in base.items()],
            "stages": [], "storm": []}


@pytest.mark.parametrize(("windows", "ubuntu", "verdict"), [
    (90.0, 70.0, SUPPORTED), (30.0, 15.0, PARTLY), (30.0, 5.0, CONTRADICTED)])
def test_c3_vm_boots_in_minutes(windows: float, ubuntu: float, verdict: str) -> None:
    tables = _starts(**{"vm-windows": windows, "vm-ubuntu": ubuntu})
    assert C3.vm_boots_in_minutes(tables).verdict == verdict


@pytest.mark.parametrize(("cold", "warm", "verdict"), [
    (2.0, 0.7, SUPPORTED), (12.0, 0.7, PARTLY), (12.0, 6.0, CONTRADICTED)])
def test_c3_container_starts_in_seconds(cold: float, warm: float, verdict: str) -> None:
    tables = _starts(**{"docker-cold": cold, "docker-warm": warm})
    assert C3.container_starts_in_seconds(tables).verdict == verdict


@pytest.mark.parametrize(("warm", "verdict"), [(0.7, SUPPORTED), (5.0, PARTLY),
                                               (20.0, CONTRADICTED)])
def test_c3_container_starts_faster(warm: float, verdict: str) -> None:
    assert C3.container_starts_faster(_starts(**{"docker-warm": warm})).verdict == verdict


# -- C4 ----------------------------------------------------------------------

WORKLOADS = ("linpack", "netperf-rr", "fio-rand-read")


def _slow(*values: float) -> dict[str, float]:
    return dict(zip(WORKLOADS, values, strict=True))


@pytest.mark.parametrize(("kvm", "verdict"), [
    ((1.5, 1.8, 1.9), SUPPORTED), ((1.0, 1.8, 1.9), PARTLY), ((1.0, 1.01, 1.02), CONTRADICTED)])
def test_c4_vm_slower_than_native(kvm: tuple[float, ...], verdict: str) -> None:
    assert C4.vm_slower_than_native(_slow(*kvm)).verdict == verdict


@pytest.mark.parametrize(("nat", "verdict"), [
    ((1.0, 1.02, 1.0), SUPPORTED), ((1.0, 2.0, 1.0), PARTLY), ((1.3, 2.0, 1.2), CONTRADICTED)])
def test_c4_container_near_native(nat: tuple[float, ...], verdict: str) -> None:
    rows = [{"stack": "docker-nat", "workload": w, "slowdown": s}
            for w, s in _slow(*nat).items()]
    rows += [{"stack": "docker-host", "workload": w, "slowdown": 1.0} for w in WORKLOADS]
    statement = C4.container_near_native({"overhead": rows})
    assert statement.verdict == verdict
    if verdict != SUPPORTED:
        assert "host network" in statement.reason


@pytest.mark.parametrize(("nat", "verdict"), [
    ((1.0, 1.0, 1.0), SUPPORTED), ((1.0, 2.0, 1.0), PARTLY), ((2.0, 2.0, 2.0), CONTRADICTED)])
def test_c4_container_faster_than_vm(nat: tuple[float, ...], verdict: str) -> None:
    assert C4.container_faster_than_vm(_slow(1.1, 1.8, 1.8), _slow(*nat)).verdict == verdict


# -- C5 ----------------------------------------------------------------------

def _blast(**taken: int) -> dict[tuple[str, str], dict[str, Any]]:
    kinds = {("vm", "guest-kernel-panic"): 1, ("vm", "vmm-crash"): 1, ("vm", "vm-escape"): 1,
             ("vm", "host-kernel-panic"): 8, ("container", "host-kernel-panic"): 8,
             ("container", "engine-crash"): 8, ("container", "container-escape"): 8}
    rows = {}
    for (tech, kind), n in kinds.items():
        n = taken.get(kind.replace("-", "_") + "_" + tech, n)
        rows[(tech, kind)] = {"instances": n, "of": 8, "share": n / 8}
    return rows


def test_c5_vm_fault_stays_inside_each_outcome() -> None:
    assert C5.vm_fault_stays_inside(_blast()).verdict == SUPPORTED
    assert C5.vm_fault_stays_inside(_blast(vm_escape_vm=8)).verdict == PARTLY
    assert C5.vm_fault_stays_inside(_blast(vm_escape_vm=8, vmm_crash_vm=8,
                                           guest_kernel_panic_vm=2)).verdict == CONTRADICTED


@pytest.mark.parametrize(("crossed", "verdict"), [
    ((True, True), SUPPORTED), ((True, False), PARTLY), ((False, False), CONTRADICTED)])
def test_c5_container_escape_reaches_others(crossed: tuple[bool, bool], verdict: str) -> None:
    rows = [{"technology": "container", "layer": "runc", "exploit": f"cve-{i}",
             "crossed": c, "compromised": 8 if c else 1, "of": 8}
            for i, c in enumerate(crossed)]
    rows.append({"technology": "gvisor", "layer": "runsc", "exploit": "cve-0",
                 "crossed": False, "compromised": 1, "of": 8})
    statement = C5.container_escape_reaches_others({"escapes": rows})
    assert statement.verdict == verdict
    assert "runsc contains cve-0" in statement.reason


def test_c5_container_less_isolated_each_outcome() -> None:
    assert C5.container_less_isolated(_blast(vm_escape_vm=1)).verdict == SUPPORTED
    assert C5.container_less_isolated(_blast(vm_escape_vm=8)).verdict == PARTLY
    assert C5.container_less_isolated(_blast(
        host_kernel_panic_container=1, engine_crash_container=1,
        container_escape_container=1)).verdict == CONTRADICTED


# -- C6 ----------------------------------------------------------------------

def _os_mix(vm_runs: bool = True, foreign_refused: bool = True) -> Rows:
    rows = []
    for host, guest in (("linux", "windows"), ("windows", "linux")):
        rows.append({"host_os": host, "workload_os": guest, "how": "VM", "started": vm_runs})
        rows.append({"host_os": host, "workload_os": guest,
                     "how": "container on the host kernel", "started": not foreign_refused})
    rows.append({"host_os": "linux", "workload_os": "linux", "how": "VM", "started": True})
    return rows


def test_c6_other_os_needs_vm_each_outcome() -> None:
    assert C6.other_os_needs_vm({"os_mix": _os_mix()}).verdict == SUPPORTED
    assert C6.other_os_needs_vm({"os_mix": _os_mix(vm_runs=False)}).verdict == CONTRADICTED
    rows = _os_mix()
    rows[1]["started"] = True  # a Windows container on the Linux kernel
    assert C6.other_os_needs_vm({"os_mix": rows}).verdict == PARTLY


def _replicas(vm_reserved: int, vm_over: int, vm_start: float) -> dict[str, Rows]:
    def row(tech: str, reserved: int, over: int, start: float) -> dict[str, Any]:
        return {"technology": tech, "hosts_for_fleet_reserved": reserved,
                "hosts_for_fleet_overcommitted": over, "start_all_s": start, "replicas": 8}

    return {"replicas": [row("vm", vm_reserved, vm_over, vm_start),
                         row("container", 5, 5, 2.0)]}


@pytest.mark.parametrize(("reserved", "over", "verdict"), [
    (20, 12, SUPPORTED), (20, 5, PARTLY), (6, 5, CONTRADICTED)])
def test_c6_containers_denser(reserved: int, over: int, verdict: str) -> None:
    assert C6.containers_denser(_replicas(reserved, over, 20.0)).verdict == verdict


@pytest.mark.parametrize(("start", "verdict"), [
    (20.0, SUPPORTED), (3.0, PARTLY), (1.0, CONTRADICTED)])
def test_c6_containers_start_sooner(start: float, verdict: str) -> None:
    assert C6.containers_start_sooner(_replicas(20, 5, start)).verdict == verdict


# -- C7 ----------------------------------------------------------------------

def _recovery(back: dict[str, bool]) -> dict[str, Rows]:
    managers = {"docker-restart": "container", "kubernetes": "container",
                "docker-swarm": "container", "openstack-evacuate": "vm", "vsphere-ha": "vm",
                "libvirt-restart": "vm"}
    return {"recovery": [
        {"technology": tech, "manager": m, "fault": "machine", "kind": "machine-failure",
         "recovered_share": 1.0 if back.get(m, True) else 0.0,
         "time_to_recover_s": 30.0 if back.get(m, True) else None}
        for m, tech in managers.items()]}


@pytest.mark.parametrize(("back", "verdict"), [
    ({}, SUPPORTED), ({"kubernetes": False}, PARTLY),
    ({"kubernetes": False, "docker-swarm": False}, CONTRADICTED)])
def test_c7_orchestrators_manage_containers(back: dict[str, bool], verdict: str) -> None:
    statement = C7.managed_through_faults(_recovery(back), "container")
    assert statement.verdict == verdict


def test_c7_restart_policies_are_reported_not_judged() -> None:
    tables = _recovery({"docker-restart": False, "libvirt-restart": False})
    container = C7.managed_through_faults(tables, "container")
    assert container.verdict == SUPPORTED and "docker-restart" in container.reason
    assert C7.managed_through_faults(tables, "vm").verdict == SUPPORTED
    tables = _recovery({"vsphere-ha": False, "openstack-evacuate": False})
    assert C7.managed_through_faults(tables, "vm").verdict == CONTRADICTED


# -- C8 ----------------------------------------------------------------------

def _pair(image_os: str, host_os: str, kernel_os: str, outcome: str,
          target: str = "t") -> dict[str, Any]:
    return {"image": f"{image_os}-img", "image_os": image_os, "host_os": host_os,
            "kernel_os": kernel_os, "outcome": outcome, "target": f"{host_os} {target}",
            "message": outcome}


def test_c8_windows_only_on_windows_each_outcome() -> None:
    refused = [_pair("windows", "linux", "linux", "needs-vm")]
    binfmt = [{"binfmt_qemu": True, "outcome": "needs-vm"}]
    assert C8.windows_only_on_windows(refused, binfmt).verdict == SUPPORTED
    ran = [{**binfmt[0], "outcome": "emulated"}]
    assert C8.windows_only_on_windows(refused, ran).verdict == PARTLY
    assert C8.windows_only_on_windows([_pair("windows", "linux", "linux", "native")],
                                      ran).verdict == CONTRADICTED


def test_c8_linux_needs_linux_kernel_each_outcome() -> None:
    good = [_pair("linux", "linux", "linux", "native"),
            _pair("linux", "windows", "windows", "needs-vm"),
            _pair("linux", "darwin", "linux", "vm")]
    statement = C8.linux_needs_linux_kernel(good)
    assert statement.verdict == SUPPORTED and "Linux VM the platform adds" in statement.reason
    bad = [_pair("linux", "windows", "windows", "native")]
    assert C8.linux_needs_linux_kernel(good + bad).verdict == PARTLY
    assert C8.linux_needs_linux_kernel(bad).verdict == CONTRADICTED


def test_c8_runs_on_own_family_each_outcome() -> None:
    ok = [_pair("linux", "linux", "linux", "native"),
          _pair("windows", "windows", "windows", "native")]
    assert C8.runs_on_own_family(ok).verdict == SUPPORTED
    old = _pair("windows", "windows", "windows", "impossible", target="2019")
    statement = C8.runs_on_own_family([*ok, old])
    assert statement.verdict == PARTLY and "2019" in statement.reason
    assert C8.runs_on_own_family([old]).verdict == CONTRADICTED


# -- C9 ----------------------------------------------------------------------

def _desktop(vm_ready: float | None = 2.5, first: float = 3.0, memory: float = 2000.0,
             cpu: float = 1.2) -> tuple[dict[str, Any], dict[tuple[str, str], float]]:
    starts = {C9.NATIVE: {"vm_ready_s": None, "first_ready_s": 0.6,
                          "memory_reserved_mib": 100.0, "start_after_vm_s": 0.6}}
    perf = {(C9.NATIVE, "sysbench-cpu"): 1.0}
    for _, _, platform in C9.PLATFORMS[1:]:
        starts[platform] = {"vm_ready_s": vm_ready, "first_ready_s": first,
                            "memory_reserved_mib": memory, "start_after_vm_s": 0.7}
        perf[(platform, "sysbench-cpu")] = cpu
    return starts, perf


def test_c9_desktop_runs_a_vm_each_outcome() -> None:
    starts, _ = _desktop()
    assert C9.desktop_runs_a_vm(starts).verdict == SUPPORTED
    starts["docker-desktop-linux"]["vm_ready_s"] = None
    assert C9.desktop_runs_a_vm(starts).verdict == PARTLY
    assert C9.desktop_runs_a_vm(_desktop(vm_ready=None)[0]).verdict == CONTRADICTED


def test_c9_desktop_pays_vm_costs_each_outcome() -> None:
    assert C9.desktop_pays_vm_costs(*_desktop(), "sysbench-cpu").verdict == SUPPORTED
    starts, perf = _desktop()
    perf[("docker-desktop-mac", "sysbench-cpu")] = 1.0
    assert C9.desktop_pays_vm_costs(starts, perf, "sysbench-cpu").verdict == PARTLY
    assert C9.desktop_pays_vm_costs(*_desktop(cpu=1.0), "sysbench-cpu").verdict == CONTRADICTED


# -- C10 ---------------------------------------------------------------------

def test_c10_runs_through_binfmt_each_outcome() -> None:
    def rows(with_handler: str, without: str) -> dict[str, Rows]:
        return {"binfmt": [{"image": "a", "host_arch": "amd64", "binfmt": True,
                            "outcome": with_handler},
                           {"image": "a", "host_arch": "amd64", "binfmt": False,
                            "outcome": without}]}

    assert C10.runs_through_binfmt(rows("emulated", "impossible")).verdict == SUPPORTED
    assert C10.runs_through_binfmt(rows("emulated", "emulated")).verdict == PARTLY
    assert C10.runs_through_binfmt(rows("impossible", "emulated")).verdict == CONTRADICTED


def _placements(cpu: float, disk: float) -> dict[str, dict[str, Any]]:
    def row(emulator: str, layers: str, cpu_s: float, io_s: float) -> dict[str, Any]:
        return {"emulator": emulator, "layers": layers,
                **{f"slowdown_{d}": (cpu_s if d in ("cpu", "memory_bw", "random_access")
                                     else io_s) for d in C10.DEMAND_LABELS}}

    return {"native": row("", "native", 1.0, 1.0),
            "qemu": row(C10.QEMU_USER, f"native+{C10.QEMU_USER}", cpu, disk)}


@pytest.mark.parametrize(("cpu", "disk", "verdict"), [
    (4.0, 3.0, SUPPORTED), (4.0, 1.0, PARTLY), (1.2, 1.0, CONTRADICTED)])
def test_c10_emulation_much_slower(cpu: float, disk: float, verdict: str) -> None:
    assert C10.emulation_much_slower(_placements(cpu, disk)).verdict == verdict


# -- C11 ---------------------------------------------------------------------

def test_c11_containers_use_host_kernel_each_outcome() -> None:
    def runs(*nodes: str) -> Rows:
        return [{"kernel": f"k{i}", "started": True, "kernel_node": n}
                for i, n in enumerate(nodes)]

    assert C11.containers_use_host_kernel(runs("host/kernel", "host/kernel")).verdict == SUPPORTED
    assert C11.containers_use_host_kernel(runs("host/kernel", "vm/kernel")).verdict == PARTLY
    assert C11.containers_use_host_kernel(runs("vm/kernel")).verdict == CONTRADICTED


def _matrix(outcomes: dict[tuple[str, str], str]) -> Rows:
    versions = {"linux-4.4": "4.4", "linux-6.8": "6.8"}
    return [{"kernel": k, "kernel_version": versions[k], "image": i, "distribution": i,
             "outcome": o, "cause": "" if o == "native" else "missing feature"}
            for (k, i), o in outcomes.items()]


def test_c11_distributions_share_a_kernel_each_outcome() -> None:
    both = {("linux-4.4", "alpine"): "native", ("linux-4.4", "debian"): "native",
            ("linux-6.8", "alpine"): "native", ("linux-6.8", "debian"): "native"}
    assert C11.distributions_share_a_kernel(_matrix(both)).verdict == SUPPORTED
    one = {**both, ("linux-6.8", "debian"): "impossible"}
    assert C11.distributions_share_a_kernel(_matrix(one)).verdict == PARTLY
    none = {**one, ("linux-4.4", "debian"): "impossible"}
    assert C11.distributions_share_a_kernel(_matrix(none)).verdict == CONTRADICTED


def test_c11_kernels_backward_compatible_each_outcome() -> None:
    ok = {("linux-4.4", "alpine"): "native", ("linux-6.8", "alpine"): "native",
          ("linux-4.4", "centos"): "impossible", ("linux-6.8", "centos"): "native"}
    assert C11.kernels_backward_compatible(_matrix(ok)).verdict == SUPPORTED  # too old is fine
    broken = {**ok, ("linux-4.4", "centos"): "native", ("linux-6.8", "centos"): "impossible"}
    statement = C11.kernels_backward_compatible(_matrix(broken))
    assert statement.verdict == PARTLY and "centos (broken by linux-6.8" in statement.reason
    worse = {**broken, ("linux-6.8", "alpine"): "impossible"}
    assert C11.kernels_backward_compatible(_matrix(worse)).verdict == CONTRADICTED


# -- C12 ---------------------------------------------------------------------

def _kernel_map(desktop_host: bool = False, same_kernel: bool = False) -> Rows:
    rows = []
    for image in ("alpine", "debian"):
        rows.append({"image": image, "technology": "container", "place": "Linux, runc",
                     "kernel": "linux-6.8", "is_host_kernel": True, "supplied_by": "host OS"})
        rows.append({"image": image, "technology": "desktop", "place": "Mac, Desktop",
                     "kernel": "linux-6.8" if same_kernel else "linux-6.12-virt",
                     "is_host_kernel": desktop_host, "supplied_by": "platform VM"})
    return rows


def test_c12_kernel_follows_place_each_outcome() -> None:
    assert C12.kernel_follows_place(_kernel_map()).verdict == SUPPORTED
    rows = _kernel_map()
    rows[1]["kernel"] = "linux-6.8"  # alpine reaches the same kernel in both places
    assert C12.kernel_follows_place(rows).verdict == PARTLY
    assert C12.kernel_follows_place(_kernel_map(same_kernel=True)).verdict == CONTRADICTED


def test_c12_uses_host_kernel_each_outcome() -> None:
    assert C12.uses_host_kernel(_kernel_map(desktop_host=True)).verdict == SUPPORTED
    statement = C12.uses_host_kernel(_kernel_map())
    assert statement.verdict == PARTLY and "platform VM" in statement.reason
    rows = [{**r, "is_host_kernel": False} for r in _kernel_map()]
    assert C12.uses_host_kernel(rows).verdict == CONTRADICTED


@pytest.mark.parametrize(("runc", "desktop", "verdict"), [
    (1, 1, SUPPORTED), (1, 3, PARTLY), (3, 3, CONTRADICTED)])
def test_c12_one_kernel_for_all(runc: int, desktop: int, verdict: str) -> None:
    sweep = [{"technology": "container", "instances": 3, "kernels": runc},
             {"technology": "desktop", "instances": 3, "kernels": desktop},
             {"technology": "vm", "instances": 3, "kernels": 3}]
    assert C12.one_kernel_for_all(sweep).verdict == verdict


# -- C13 ---------------------------------------------------------------------

def _exec(**ok: bool) -> dict[str, Rows]:
    commands = {"sh": False, "ls": False, "/app": True}
    commands.update(ok)
    return {"exec": [{"image": C13.SCRATCH, "command": c.replace("app", "/app"), "ok": v,
                      "message": "found" if v else "not found", "is_entrypoint": c == "/app"}
                     for c, v in commands.items()]}


def test_c13_no_shell_or_utilities_each_outcome() -> None:
    assert C13.no_shell_or_utilities(_exec()).verdict == SUPPORTED
    assert C13.no_shell_or_utilities(_exec(sh=True)).verdict == PARTLY
    assert C13.no_shell_or_utilities(_exec(sh=True, ls=True)).verdict == CONTRADICTED


def test_c13_own_binary_runs_each_outcome() -> None:
    assert C13.own_binary_runs(_exec()).verdict == SUPPORTED
    assert C13.own_binary_runs(_exec(**{"/app": False})).verdict == CONTRADICTED


@pytest.mark.parametrize(("next_mib", "verdict"), [
    (20.0, SUPPORTED), (8.0, PARTLY), (5.0, CONTRADICTED)])
def test_c13_much_smaller(next_mib: float, verdict: str) -> None:
    images = [{"image": C13.SCRATCH, "with_app_size_mib": 6.0, "has_shell": False},
              {"image": "distroless", "with_app_size_mib": next_mib, "has_shell": False},
              {"image": "debian", "with_app_size_mib": 130.0, "has_shell": True}]
    statement = C13.much_smaller({"images": images})
    assert statement.verdict == verdict
    assert f"{next_mib / 6.0:.2f}x" in statement.reason


# -- C14 ---------------------------------------------------------------------

def _images(alpine_mib: float = 5.0, shell: bool = True, manager: str = "apk",
            scratch_shell: bool = False) -> dict[str, dict[str, Any]]:
    def row(size: float, has_shell: bool, pm: str) -> dict[str, Any]:
        return {"size_mib": size, "compressed_mib": size / 2, "has_shell": has_shell,
                "package_manager": pm}

    rows = {C14.SCRATCH: row(2.0, scratch_shell, ""), C14.ALPINE: row(alpine_mib, shell, manager)}
    rows.update({d: row(100.0, True, "apt") for d in C14.DISTROS})
    return rows


@pytest.mark.parametrize(("mib", "verdict"), [(4.8, SUPPORTED), (7.9, PARTLY),
                                              (40.0, CONTRADICTED)])
def test_c14_about_five_mb(mib: float, verdict: str) -> None:
    assert C14.about_five_mb(_images(mib)).verdict == verdict


def test_c14_has_a_shell_each_outcome() -> None:
    assert C14.has_a_shell(_images()).verdict == SUPPORTED
    assert C14.has_a_shell(_images(manager="")).verdict == PARTLY
    assert C14.has_a_shell(_images(shell=False, manager="",
                                   scratch_shell=True)).verdict == CONTRADICTED


@pytest.mark.parametrize(("mib", "verdict"), [(8.0, SUPPORTED), (120.0, PARTLY),
                                              (1.0, PARTLY)])
def test_c14_between_in_size(mib: float, verdict: str) -> None:
    assert C14.between_in_size(_images(mib)).verdict == verdict


def _cold(alpine: float, links: tuple[float, ...] = (1.0,)) -> dict[str, Rows]:
    times = {C14.SCRATCH: 0.7, C14.ALPINE: alpine, **dict.fromkeys(C14.DISTROS, 2.0)}
    return {"starts": [{"image": i, "start": "cold", "link_gbps": link, "ready_s": t}
                       for link in links for i, t in times.items()]}


@pytest.mark.parametrize(("alpine", "verdict"), [(0.8, SUPPORTED), (1.9, CONTRADICTED),
                                                 (0.5, CONTRADICTED)])
def test_c14_between_in_cold_start(alpine: float, verdict: str) -> None:
    assert C14.between_in_cold_start(_cold(alpine)).verdict == verdict


def test_c14_between_in_cold_start_partly_when_one_link_closes_the_gap() -> None:
    tables = _cold(0.8, links=(0.1, 10.0))
    for row in tables["starts"]:
        if row["link_gbps"] == 10.0 and row["image"] == C14.ALPINE:
            row["ready_s"] = 1.9
    assert C14.between_in_cold_start(tables).verdict == PARTLY
