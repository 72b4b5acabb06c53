# A fake seccomp binding: if the sandbox imported this one, its filter would be a no-op.
open("/tmp/ggatk-@@TOKEN@@-pyseccomp", "w").write("ran")
ALLOW = 0


class SyscallFilter:
    def __init__(self, *a, **k):
        pass

    def add_rule(self, *a, **k):
        pass

    def load(self):
        pass
