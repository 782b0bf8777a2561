#!/usr/bin/env python3
"""Runs every test_* function of tests/integration/test_*.py.

Prints one line per test and ends with "N passed, N failed". Integration
tests load real BPF programs, so they need root: under CI=true a missing
privilege is a failure, never a skip.
"""
import glob
import importlib.util
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(__file__))
import nltest  # noqa: E402


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    only = sys.argv[1:]
    passed = failed = skipped = 0
    in_ci = os.environ.get("CI") == "true"
    is_root = os.geteuid() == 0
    nltest.remove_stale()
    for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "test_*.py"))):
        mod = load(path)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = f"{mod.__name__}.{name}"
            if only and not any(o in full for o in only):
                continue
            if not is_root:
                if in_ci:
                    print(f"FAIL {full}: needs root to load BPF programs (CI=true)")
                    failed += 1
                else:
                    print(f"SKIP {full}: needs root")
                    skipped += 1
                continue
            t0 = time.time()
            try:
                getattr(mod, name)()
                print(f"PASS {full} ({time.time() - t0:.1f}s)", flush=True)
                passed += 1
            except Exception as e:
                print(f"FAIL {full} ({time.time() - t0:.1f}s): {e}", flush=True)
                traceback.print_exc(limit=3)
                failed += 1
            finally:
                nltest.cleanup()
    if skipped:
        print(f"{skipped} skipped (not root)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
