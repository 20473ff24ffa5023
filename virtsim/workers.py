"""Local worker processes that never outlive the process that started them.

``virtsim reproduce`` and ``virtsim validate`` run experiments on a
:class:`~concurrent.futures.ProcessPoolExecutor`. If the parent is killed
with SIGKILL it cannot stop its pool, and the workers would run on as
orphans, writing into a staging folder nobody will publish. Each worker
therefore watches its parent's process id and exits as soon as it changes
(portable, unlike Linux's ``PR_SET_PDEATHSIG``, and indifferent to which of
the parent's threads started the worker).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PARENT_POLL_S = 0.2
"""How often a worker checks that the process that started it is still there."""


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this process within :data:`PARENT_POLL_S` of ``parent``'s end."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="virtsim-parent-watch", daemon=True).start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` local processes that die with this one."""
    return ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent,
                               initargs=(os.getpid(),))
