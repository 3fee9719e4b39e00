"""The pages one source has read ahead (page_prefetch.py): a store that knows nothing of sessions,
so that session.py can hold one without importing the requester that fills it."""

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, Optional, Tuple

ListKey = Tuple[str, str]


class Prefetch:
    """One source's pages read ahead: {(list, page): Future}, a pool of `num_workers` threads and
    a budget of `num_workers` pages read ahead and not consumed yet."""

    def __init__(self, num_workers: int) -> None:
        self.num_workers = num_workers
        self.lock = threading.Lock()
        self.pending: Dict[Tuple[ListKey, int], Future] = {}
        self.budget = threading.BoundedSemaphore(num_workers)
        self._pool: Optional[ThreadPoolExecutor] = None

    def pool(self) -> ThreadPoolExecutor:
        with self.lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.num_workers, thread_name_prefix="timify-prefetch")
            return self._pool

    def take(self, key: ListKey, page: int) -> Optional[Future]:
        with self.lock:
            future = self.pending.pop((key, page), None)
        if future is not None:
            self.budget.release()
        return future

    def drop(self, key: ListKey) -> None:
        """Forget what was read ahead of `key` (it is read again from page 1)."""
        with self.lock:
            dropped = [k for k in self.pending if k[0] == key]
            for k in dropped:
                self.pending.pop(k).cancel()
        for _ in dropped:
            self.budget.release()

    def close(self) -> None:
        with self.lock:
            pool, self._pool = self._pool, None
            for future in self.pending.values():
                future.cancel()
            count = len(self.pending)
            self.pending.clear()
        for _ in range(count):
            self.budget.release()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
