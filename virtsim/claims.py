"""The fourteen claims virtsim reproduces, in plain words, with the seed text's wording.

Each claim comes from section 1 of the design and the seed text (a common
explanation of Docker against virtual machines). ``plain`` says the claim as
a student would; ``quote`` is a short excerpt of the seed text it stands on.
Experiments name their claim by id (``CLAIM = "C5"``); the report lists every
claim here, run or not, so it always names C1 to C14.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One claim of the seed text.

    Attributes:
        id: ``"C1"`` to ``"C14"``.
        topic: A few words for headings (``"Footprint"``).
        plain: The claim in plain words.
        quote: The seed text's own wording, briefly.
    """

    id: str
    topic: str
    plain: str
    quote: str


CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "Architecture",
          "A VM virtualises the whole machine and runs its own full guest operating system on a "
          "hypervisor; a container is an isolated group of processes on the host's kernel "
          "(namespaces and cgroups).",
          "Each VM runs its own full operating system (guest OS) on top of a hypervisor ... "
          "Containers share the host OS's kernel."),
    Claim("C2", "Footprint",
          "VM images and memory footprints are gigabyte-scale; container images are "
          "megabyte-scale.",
          "They can be much larger (GBs in size) ... Containers are lightweight, typically in "
          "MBs."),
    Claim("C3", "Start time",
          "VMs take tens of seconds to minutes to boot; containers start in seconds or "
          "milliseconds.",
          "Typically take minutes to boot because they load an entire OS ... Containers start "
          "in seconds or even milliseconds."),
    Claim("C4", "Performance overhead",
          "VMs pay hypervisor overhead on CPU, memory, storage and network; containers run "
          "near native speed.",
          "Performance can be slower due to the need for virtualization (the hypervisor layer) "
          "... Docker containers have less overhead."),
    Claim("C5", "Isolation and blast radius",
          "A VM is fully isolated: a fault or compromise stays inside it. Containers share a "
          "kernel, so a kernel fault or an escape reaches every container on the host.",
          "VMs provide full isolation since each VM runs its own OS ... they share the same "
          "kernel, meaning isolation is less strict than VMs."),
    Claim("C6", "Use cases",
          "VMs suit running different operating systems and strong isolation; containers suit "
          "many instances of one application (density, microservices, CI).",
          "Ideal for running applications that require different operating systems ... "
          "Docker is more popular for running multiple instances of an application."),
    Claim("C7", "Management",
          "VMs are managed by hypervisor tooling (VMware, Hyper-V, KVM, Vagrant, OpenStack); "
          "containers by orchestrators (Docker Swarm, Kubernetes).",
          "Managed using hypervisors (like VMware, Hyper-V, or KVM) and tools such as Vagrant, "
          "OpenStack ... Managed using container orchestrators like Docker Swarm or "
          "Kubernetes."),
    Claim("C8", "Kernel and OS compatibility",
          "Linux containers need a Linux kernel and Windows containers a Windows kernel; "
          "neither runs natively on the other's kernel.",
          "Windows containers can only run on Windows hosts. You can't run a Windows container "
          "on a Linux host natively because the kernel is different."),
    Claim("C9", "Docker Desktop",
          "Docker Desktop on macOS and Windows (and on Linux) runs containers inside a hosted, "
          "lightweight Linux VM, so those containers pay VM costs.",
          "Docker Desktop for Windows and macOS includes a lightweight Linux virtual machine "
          "(VM) running inside the system."),
    Claim("C10", "Emulating other architectures",
          "Images built for another CPU architecture run through QEMU user-mode emulation via "
          "binfmt_misc, much slower than native.",
          "Docker's \"emulation\" feature ... using QEMU and binfmt_misc ... This is not as "
          "efficient as running natively."),
    Claim("C11", "Distributions share one kernel",
          "Images from different distributions run on one host kernel: they bring user space "
          "only, and work while the host kernel offers the system calls and features they need.",
          "All containers running on a host will use that host's kernel, regardless of the "
          "distribution they are based on."),
    Claim("C12", "No kernel in a base image",
          "A base image contains no kernel: every container uses the kernel it runs on.",
          "A Docker base image does not contain a kernel ... it relies on the host operating "
          "system's kernel."),
    Claim("C13", "FROM scratch",
          "An image built FROM scratch holds only what is copied in (a static binary): the "
          "smallest image and attack surface, but no shell or utilities, so `sh` or `ls` fail.",
          "The scratch image is completely empty ... you won't have access to typical Linux "
          "commands (like ls, bash, cp, etc.)."),
    Claim("C14", "Alpine, the middle ground",
          "Alpine (a few MB, with a shell) is the middle ground between scratch and full "
          "distributions.",
          "A minimal base image, like Alpine Linux (which is around 5MB) ... is a good middle "
          "ground between scratch and full-featured base images like Ubuntu."),
)
"""Every claim, in order."""

CLAIM_IDS: tuple[str, ...] = tuple(c.id for c in CLAIMS)


def claim(claim_id: str) -> Claim:
    """The claim with this id (``"C7"``); KeyError names the known ids."""
    for item in CLAIMS:
        if item.id == claim_id:
            return item
    raise KeyError(f"no claim {claim_id!r}; claims are {', '.join(CLAIM_IDS)}")


def claim_number(claim_id: str) -> int:
    """``"C7"`` -> 7, for ordering."""
    return CLAIM_IDS.index(claim(claim_id).id) + 1
