"""Python talks to the jsii kernel over one socket, without jsii's relay process in between.

Why: everything the app asks of aws-cdk-lib, cdk8s and cdk-nag is a round trip to the jsii
kernel, a Node.js program (``lib/program.js``) that reads requests from and writes responses to
its file descriptor 3. jsii's Python runtime does not start the kernel itself: it starts
``bin/jsii-runtime.js``, a second Node.js process that starts the kernel and relays every
request and response between its own stdin/stdout and the kernel's fd 3 through its event loop
(and wraps the kernel's console output in JSON). A synth of every stage makes ~4,200 round
trips; the relay's extra hops cost about a third of each round trip's latency (0.13 against
0.087 ms) and ~7 % of a full synth, measured side by side (``make bench`` compares the app with
and without this and ``-O``).

``install()`` replaces only how the kernel process is started: the same kernel, from the same
jsii wheel, gets one end of a socket pair as its fd 3 (a socket, unlike a pipe, carries both
directions on one descriptor, as the kernel expects), and its console output goes straight to
ours. Requests, responses, callbacks and shutdown are jsii's own code, unchanged.

It is installed only for the jsii version it was checked against (``JSII_VERSION``; a bump of
the pinned jsii makes ``tests/test_jsii_transport.py`` fail until this module is checked again),
on POSIX, and never when ``JSII_RUNTIME`` names another runtime or ``GPU_PLATFORM_JSII_RELAY``
is set; otherwise jsii's own transport runs.
``install()`` must run before the first ``aws_cdk``/``cdk8s`` import, which starts the kernel.
"""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from jsii.__meta__ import __version__ as jsii_version
from jsii._kernel.providers import process

JSII_VERSION = "1.142.0"
DISABLE_ENV = "GPU_PLATFORM_JSII_RELAY"  # set to 1 to use jsii's own relay process
_RELAYED_START = process._NodeProcess.start


def applies() -> bool:
    """Whether ``install()`` takes effect in this process: the pinned jsii, on a POSIX shell,
    with no other runtime named and the relay not asked for."""
    standard = jsii_version == JSII_VERSION and "JSII_RUNTIME" not in os.environ and os.name == "posix"
    return standard and not os.environ.get(DISABLE_ENV)


def install() -> None:
    if applies():
        process._NodeProcess.start = _start  # type: ignore[method-assign]


def _copy_lines(reader: IO[bytes]) -> None:
    for line in iter(reader.readline, b""):
        sys.stderr.buffer.write(line)
        sys.stderr.flush()


def _start(self: process._NodeProcess) -> None:
    """``_NodeProcess.start`` with the kernel started directly (see the module docstring)."""
    environ = {**os.environ, "JSII_AGENT": f"Python/{platform.python_version()}"}
    node = shutil.which(environ.get("JSII_NODE", "node"))
    if node is None:  # jsii's own start says which Node.js it could not find
        return _RELAYED_START(self)
    # _jsii_runtime() unpacks jsii's embedded runtime into a temporary directory that stop()
    # removes; it returns bin/jsii-runtime.js, and the kernel is lib/program.js beside it.
    program = Path(self._jsii_runtime()).parent.parent / "lib" / "program.js"
    ours, kernels = socket.socketpair()
    with kernels:
        # The kernel's end arrives as stdin and the shell moves it to fd 3, where the kernel
        # reads and writes; the kernel's stdin is then /dev/null, as under jsii's relay.
        kernel = [node, "--max-old-space-size=4069", "--preserve-symlinks", str(program)]
        self._process = subprocess.Popen(
            ["/bin/sh", "-c", 'exec "$@" 3<&0 0</dev/null', "jsii-kernel", *kernel],
            stdin=kernels.fileno(),
            stderr=subprocess.PIPE,
            env=environ,
        )
    # jsii's send/receive/stop use the process's stdin and stdout as its request and response
    # streams: both are now our end of the socket (closed when both files are).
    self._process.stdin = ours.makefile("wb")
    self._process.stdout = ours.makefile("rb")
    ours.close()
    self.sink_thread = threading.Thread(
        name="process.stderr_sink", target=_copy_lines, args=(self._process.stderr,), daemon=True
    )
    self.sink_thread.start()
    atexit.register(self.stop)
    self.handshake()
