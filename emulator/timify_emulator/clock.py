"""The emulator clock: real time plus an offset that tests can set or advance."""

import datetime as dt
import threading
import time


class Clock:
    def __init__(self):
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self):
        """Epoch seconds (float)."""
        return time.time() + self._offset

    def seconds(self):
        """Whole epoch seconds: the precision of updatedAt/createdAt."""
        return int(self.time())

    def now(self):
        return dt.datetime.fromtimestamp(self.time(), dt.timezone.utc)

    def set(self, when):
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        with self._lock:
            self._offset = when.timestamp() - time.time()

    def advance(self, seconds):
        with self._lock:
            self._offset += seconds
