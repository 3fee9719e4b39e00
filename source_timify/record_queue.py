"""The queue between the CDK's workers and the writer (cdk_workarounds.limit_record_queue puts it
in place of the CDK's queue.Queue)."""

import queue
from typing import Any, Optional


class RefillingQueue(queue.Queue):
    """A queue whose reader wakes the writers blocked on a full queue once it is half empty, not
    after every item it takes. The writer (the main thread) is the bottleneck of a read, so the
    queue is mostly full: waking a worker per record made each record two switches of thread and
    of the GIL (50,000-70,000 context switches in a 100,000-record read, and a tenth of its CPU).

    Its one reader takes an item from a queue more than half full without the queue's lock (a
    deque's `popleft` is atomic), and asks whether it is empty without it: the read loop does both
    for every record. Under half full it takes the lock to wake the writers, as before; a writer
    waits only on a full queue, so the reader passes half on its way and wakes it."""

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        if not block or timeout is not None:
            return super().get(block, timeout)
        if len(self.queue) > self.maxsize // 2 + 1:  # still more than half full once taken
            return self.queue.popleft()
        with self.not_empty:
            while not self._qsize():
                self.not_empty.wait()
            item = self._get()
            if self._qsize() <= self.maxsize // 2:
                self.not_full.notify_all()
            return item

    def empty(self) -> bool:
        return not self.queue

    def backed_up(self) -> bool:
        """Whether the writer is behind: the queue is at least half full."""
        return self.qsize() >= self.maxsize // 2
