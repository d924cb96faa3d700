"""Run one command, time it (wall clock), optionally its peak RSS and optionally on a terminal."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# When GNU time is missing: a helper process runs the command alone and reports
# getrusage(RUSAGE_CHILDREN).ru_maxrss, which then is that one child's peak RSS.
RSS_HELPER = """import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + "\\n")
sys.exit(rc)
"""


@dataclass
class Outcome:
    seconds: float | None = None
    rss_kb: int | None = None
    error: str | None = None
    stdout: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def _gnu_time() -> str | None:
    path = shutil.which("time", path="/usr/bin:/bin:/usr/local/bin")
    if not path:
        return None
    try:
        p = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, timeout=10)
        return path if p.returncode == 0 and p.stderr.strip().splitlines()[-1].isdigit() else None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


class Runner:
    def __init__(self, scratch: Path, env: dict[str, str], timeout: float) -> None:
        self.scratch = scratch
        self.cwd = scratch / "cwd"  # empty: no .env, migrator.toml or pyproject.toml to pick up
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.timeout = timeout
        self.time_bin = _gnu_time()
        self.rss_method = (
            'GNU time %M (`/usr/bin/time -v` "Maximum resident set size")'
            if self.time_bin
            else "getrusage(RUSAGE_CHILDREN).ru_maxrss of a helper running the command alone"
        )

    def run(
        self,
        argv: list[str],
        *,
        stdin: bytes | None = None,
        rss: bool = False,
        tty: bool = False,
        timeout: float | None = None,
    ) -> Outcome:
        timeout = timeout or self.timeout
        out_path, err_path = self.scratch / "stdout.txt", self.scratch / "stderr.txt"
        rss_path = self.scratch / "rss.txt"
        rss_path.unlink(missing_ok=True)
        if rss:
            if self.time_bin:
                argv = [self.time_bin, "-f", "%M", "-o", str(rss_path), *argv]
            else:
                argv = [sys.executable, "-c", RSS_HELPER, str(rss_path), *argv]
        stdin_f = None
        if stdin is not None:
            in_path = self.scratch / "stdin.txt"
            in_path.write_bytes(stdin)
            stdin_f = open(in_path, "rb")
        try:
            if tty:
                seconds, rc, out, err = self._run_tty(argv, stdin_f, timeout)
            else:
                with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
                    t0 = time.perf_counter()
                    try:
                        p = subprocess.Popen(
                            argv,
                            stdin=stdin_f or subprocess.DEVNULL,
                            stdout=fo,
                            stderr=fe,
                            cwd=self.cwd,
                            env=self.env,
                            start_new_session=True,
                        )
                    except OSError as exc:
                        return Outcome(error=f"cannot start: {exc}")
                    # a blocking wait: Popen.wait(timeout) polls with sleeps of up to 50 ms, which
                    # would quantise the timings; a timer thread enforces the timeout instead
                    killed: list[bool] = []
                    timer = threading.Timer(timeout, lambda: (killed.append(True), _kill(p, wait=False)))
                    timer.start()
                    try:
                        rc = p.wait()
                    finally:
                        timer.cancel()
                    seconds = time.perf_counter() - t0
                    if killed:
                        return Outcome(error=f"timeout after {timeout:.0f} s")
                out = out_path.read_bytes().decode(errors="replace")
                err = err_path.read_bytes().decode(errors="replace")
        finally:
            if stdin_f:
                stdin_f.close()
        rss_kb = None
        if rss and rss_path.exists():
            lines = [ln for ln in rss_path.read_text().splitlines() if ln.strip()]
            if lines and lines[-1].strip().isdigit():
                rss_kb = int(lines[-1].strip())
        if rc != 0:
            return Outcome(
                seconds, rss_kb, f"exit {rc}: {last_line(err) or last_line(out) or 'no output'}", out
            )
        return Outcome(seconds, rss_kb, None, out)

    def _run_tty(self, argv: list[str], stdin_f, timeout: float) -> tuple[float, int, str, str]:
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = dict(self.env, TERM="xterm-256color", COLUMNS="120", LINES="40")
        tail = bytearray()
        t0 = time.perf_counter()
        p = subprocess.Popen(
            argv,
            stdin=stdin_f or slave,
            stdout=slave,
            stderr=slave,
            cwd=self.cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        deadline = t0 + timeout
        try:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    _kill(p)
                    return time.perf_counter() - t0, -1, "", f"timeout after {timeout:.0f} s"
                ready, _, _ = select.select([master], [], [], min(left, 1.0))
                if not ready:
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                tail += data
                del tail[:-65536]
            rc = p.wait()
        finally:
            os.close(master)
        seconds = time.perf_counter() - t0
        text = tail.decode(errors="replace")
        return seconds, rc, text, text


def _kill(p: subprocess.Popen, wait: bool = True) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    if not wait:
        return
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        pass


def last_line(text: str) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # prefer a line that reads like an error
    for ln in reversed(lines):
        if re.search(r"error|fail|denied|refus|exception", ln, re.I):
            return ln[:160]
    return lines[-1][:160] if lines else ""
