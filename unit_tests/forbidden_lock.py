"""A lock or condition that fails the test taking it: for code that must not take one."""


class LockTaken(AssertionError):
    pass


class ForbiddenLock:
    def __enter__(self):
        raise LockTaken

    def __exit__(self, *exc):
        return False
