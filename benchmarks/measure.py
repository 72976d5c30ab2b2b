"""Run a module or script and write its peak resident memory (VmHWM) to a file.

    python -m benchmarks.measure OUT_FILE (-m MODULE | SCRIPT) ARGS...

Why not wait4()'s ru_maxrss: Linux carries the parent's high-water mark over
fork and exec, so a child of a big benchmark process reports the parent's
size. VmHWM belongs to the child's own address space.
"""

import atexit
import runpy
import sys


def _write_peak(path: str) -> None:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                with open(path, "w") as out:
                    out.write(str(int(line.split()[1]) / 1024))
                return


def main() -> None:
    out_file, rest = sys.argv[1], sys.argv[2:]
    atexit.register(_write_peak, out_file)
    if rest[0] == "-m":
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = rest
        runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
    main()
