"""A pool of long-lived sandboxed PDF worker processes, shared by every thread of the calling process."""

from __future__ import annotations

import atexit
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from prereview.settings import PrereviewSettings

logger = logging.getLogger(__name__)

_WORKER = Path(__file__).resolve().with_name("pdf_worker.py")
_REPLY_BYTES = 4096
# How long a worker that closed its reply channel may take to exit before it is killed.
_EXIT_WAIT_S = 5.0


def _worker_env() -> dict[str, str]:
    """A small environment: numeric libraries single-threaded, nothing else inherited."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
    }


@dataclass(frozen=True)
class WorkerLimits:
    """The limits fixed for a worker's whole life; a document needing others gets another worker."""

    memory_mb: int
    max_file_bytes: int

    @classmethod
    def of(cls, settings: PrereviewSettings) -> WorkerLimits:
        """Address-space limit, and the largest file the worker may write (one page image at max_pixels_per_page)."""
        return cls(memory_mb=settings.pdf_memory_mb, max_file_bytes=settings.max_pixels_per_page * 3 + (1 << 20))


@dataclass(frozen=True)
class Outcome:
    """How a worker left one document: ``returncode`` is 0 when it answered done, None when it ran out of time."""

    returncode: int | None
    started: bool  # whether the worker got as far as the document (else it died while idle or starting)


class PdfWorker:
    """One worker process; used by one thread at a time."""

    def __init__(self, limits: WorkerLimits) -> None:
        self.limits = limits
        self.documents = 0
        self.healthy = True
        self._ready = False
        self._buffer = b""
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER), str(limits.memory_mb), str(limits.max_file_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
            env=_worker_env(),
            start_new_session=True,
            close_fds=True,
        )

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def _reply(self, deadline: float) -> str | None:
        """The next reply line; "" when the worker ended, None when the deadline passed first."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        while b"\n" not in self._buffer:
            remaining_ms = (deadline - time.monotonic()) * 1000
            if remaining_ms <= 0:
                return None
            if not poller.poll(remaining_ms):
                continue
            chunk = os.read(fd, _REPLY_BYTES)
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the worker has imported its libraries and set its limits."""
        if not self._ready and timeout_s > 0:
            self._ready = self._reply(time.monotonic() + timeout_s) == "ready"
        return self._ready

    def run(self, workdir: Path, timeout_s: float) -> Outcome:
        """Hand the worker one document folder and wait at most ``timeout_s`` (its start included) for it."""
        deadline = time.monotonic() + timeout_s
        if not self._ready:
            reply = self._reply(deadline)
            if reply != "ready":
                return self._ended(reply, started=False)
            self._ready = True
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(f"{workdir}\n".encode())
            self.process.stdin.flush()
        except OSError:
            return self._ended("", started=False)
        self.documents += 1
        reply = self._reply(deadline)
        if reply in ("done", "done exit"):
            self.healthy = reply == "done"
            return Outcome(returncode=0, started=True)
        return self._ended(reply, started=True)

    def _ended(self, reply: str | None, *, started: bool) -> Outcome:
        """A worker that did not answer as expected: out of time or off protocol (killed), or ended (its exit status)."""
        self.healthy = False
        if reply == "":
            try:
                return Outcome(returncode=self.process.wait(timeout=_EXIT_WAIT_S), started=started)
            except subprocess.TimeoutExpired:
                pass  # closed its reply channel without exiting: treated like a worker out of time
        self.close()
        return Outcome(returncode=None if reply in (None, "") else self.process.returncode, started=started)

    def close(self) -> None:
        """Kill the process and reap it."""
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # a pipe to a killed process may fail to flush; it is closed either way


class PdfWorkerPool:
    """Keeps up to ``pdf_pool_workers`` idle workers warm; a caller that finds none idle starts its own.

    Nobody waits for a busy worker, so a slow or hostile PDF never delays another one. A worker is
    replaced when it times out, crashes, runs out of memory, or has handled ``pdf_worker_max_files``
    documents. Created empty; workers start on first use or :meth:`warm`, never at import.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[PdfWorker] = []
        self._busy: set[PdfWorker] = set()
        self._starting = 0
        atexit.register(self.close)
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        # A forked child (e.g. a server worker) must not use or kill its parent's workers.
        self._lock = threading.Lock()
        self._idle = []
        self._busy = set()
        self._starting = 0

    def idle_workers(self) -> list[PdfWorker]:
        """The idle workers, oldest first (a snapshot)."""
        with self._lock:
            return list(self._idle)

    def busy_workers(self) -> list[PdfWorker]:
        """The workers processing a document now (a snapshot)."""
        with self._lock:
            return list(self._busy)

    def warm(self, settings: PrereviewSettings, *, wait_s: float = 0.0) -> int:
        """Start idle workers up to the pool size; wait up to ``wait_s`` for them to be ready; return how many are."""
        self._top_up(settings)
        with self._lock:
            # Out of the idle list while we read their replies, so no caller reads them at the same time.
            workers, self._idle = self._idle, []
            self._busy.update(workers)
        deadline = time.monotonic() + wait_s
        ready = sum(worker.wait_ready(max(0.0, deadline - time.monotonic())) for worker in workers)
        with self._lock:
            self._busy.difference_update(workers)
            room = max(0, settings.pdf_pool_workers - len(self._idle))
            extra = workers[room:]
            self._idle = workers[:room] + self._idle
        for worker in extra:
            worker.close()
        return ready

    def _top_up(self, settings: PrereviewSettings) -> None:
        """Drop idle workers with other limits or dead ones, and start workers until the pool is full again."""
        limits = WorkerLimits.of(settings)
        with self._lock:
            stale = [worker for worker in self._idle if worker.limits != limits or not worker.alive()]
            self._idle = [worker for worker in self._idle if worker not in stale]
            missing = max(0, settings.pdf_pool_workers - len(self._idle) - len(self._busy) - self._starting)
            self._starting += missing
        for worker in stale:
            worker.close()
        # Processes start outside the lock, so other threads can take idle workers meanwhile.
        started: list[PdfWorker] = []
        try:
            for _ in range(missing):
                started.append(PdfWorker(limits))
        except OSError as exc:  # out of processes or memory: the next PDF starts its own worker and reports it
            logger.warning("could not start a spare PDF worker: %s", exc)
        finally:
            with self._lock:
                self._starting -= missing
                self._idle.extend(started)

    def _acquire(self, settings: PrereviewSettings) -> PdfWorker:
        limits = WorkerLimits.of(settings)
        stale = []
        worker = None
        with self._lock:
            while self._idle and worker is None:
                candidate = self._idle.pop(0)
                if candidate.limits == limits and candidate.alive():
                    worker = candidate
                else:
                    stale.append(candidate)
            if worker is not None:
                self._busy.add(worker)
        for old in stale:
            old.close()
        if worker is None:
            worker = PdfWorker(limits)
            with self._lock:
                self._busy.add(worker)
        return worker

    def _release(self, worker: PdfWorker, settings: PrereviewSettings) -> None:
        keep = worker.healthy and worker.alive() and worker.documents < settings.pdf_worker_max_files
        with self._lock:
            self._busy.discard(worker)
            keep = keep and len(self._idle) < settings.pdf_pool_workers and worker.limits == WorkerLimits.of(settings)
            if keep:
                self._idle.append(worker)
        if not keep:
            worker.close()
        self._top_up(settings)

    def run(self, workdir: Path, settings: PrereviewSettings) -> Outcome:
        """Process the document folder on a worker; a worker that died before taking it is replaced once."""
        for _ in range(2):
            worker = self._acquire(settings)
            try:
                outcome = worker.run(workdir, settings.pdf_timeout_s)
            except BaseException:
                worker.healthy = False  # its state is unknown: never hand it another document
                raise
            finally:
                self._release(worker, settings)
            if outcome.started or outcome.returncode is None:
                return outcome
        return outcome

    def close(self) -> None:
        """Kill the idle workers; busy ones end when their document does."""
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.close()
