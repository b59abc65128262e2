"""The processes a run starts for itself: its pools' workers.

A report's notebook workers (:mod:`analysis.report`) and a large corpus's
coding workers (:mod:`analysis.cache`) are started by the run and serve it
alone. :func:`die_with_parent` is their pool initializer: a ``kill -9`` of
the run gives it no chance to stop them, and a worker blocked on its pool's
queue never learns the run is gone (it holds that queue's pipe itself), so
each watches for it and ends.
"""

from __future__ import annotations

import os
import threading
import time

from analysis import config

WATCH_SECONDS = 0.5  # how often a worker looks whether its run is still there


def die_with_parent(parent: int) -> None:
    """End this worker as soon as the run that started it (``parent``) is
    gone; before that, leave out ``config.UNUSED_MODULES`` (the worker is a
    process of the run's own). A report worker's kernel follows it:
    ipykernel ends when its parent does."""
    config.leave_out_unused_modules()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
