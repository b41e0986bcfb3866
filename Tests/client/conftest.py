"""Fixtures: a real cairnd process on a free 127.0.0.1 port over files in a temp dir, and the
official Aerospike Python client connected to it.

Run as root (as in CI), the shared daemons (the `daemon` fixture most modules use, and the
metrics daemon) run as the unprivileged user `nobody`, in directories of their own, as an operator
runs cairnd under a service account; CAIRN_TEST_AS_ROOT=1 keeps them root. Run as any other user,
they run as that user, which is just as unprivileged. The header of the test output says which,
and why when it could not switch."""
import contextlib
import glob
import os
import pwd
import signal
import socket
import shutil
import subprocess
import tempfile
import time

import aerospike
import pytest
from aerospike import exception as ex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAIRND = os.environ.get("CAIRND", os.path.join(ROOT, ".build", "debug", "cairnd"))

# The client keeps a copy of every module it registers (udf_put) in its Lua user path, by
# default the current directory: a temporary one instead, so tests leave nothing in the tree.
CLIENT_LUA_PATH = tempfile.mkdtemp(prefix="cairn-test-client-lua-")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def info(port, command, host="127.0.0.1", timeout=10):
    """One info request over the wire (as asinfo does); the value of `command` ("" when the
    answer has none). Raises OSError when the connection fails or closes early."""
    body = (command + "\n").encode()
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(((2 << 56) | (1 << 48) | len(body)).to_bytes(8, "big") + body)

        def receive(count):
            data = b""
            while len(data) < count:
                chunk = s.recv(count - len(data))
                if not chunk:
                    raise ConnectionError(f"info {command!r}: connection closed after {len(data)} of {count} bytes")
                data += chunk
            return data

        length = int.from_bytes(receive(8), "big") & 0xFFFFFFFFFFFF
        data = receive(length)
    for line in data.decode().split("\n"):
        if line.startswith(command + "\t"):
            return line[len(command) + 1:]
    return ""


def pairs(text, separator=";"):
    return dict(item.split("=", 1) for item in text.strip(separator).split(separator) if "=" in item)


def ready(port, host="127.0.0.1"):
    """True once cairnd answers info `status` with `ok` (while namespaces open, the port already
    listens and answers `starting`)."""
    try:
        return info(port, "status", host=host, timeout=2) == "ok"
    except OSError:
        return False


def wait_until(condition, seconds=5):
    """Polls `condition` every 20 ms until it holds or `seconds` pass; whether it held."""
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            return condition()
        time.sleep(0.02)
    return True


def wait_flushed(port, namespace="test", seconds=10):
    """Waits until the namespace's flushers have written every byte appended so far
    (`device_unflushed_bytes` 0), so that a kill -9 then loses nothing even without
    commit-to-device. Fails naming the bytes still unwritten after `seconds`."""
    def unflushed():
        return int(pairs(info(port, f"namespace/{namespace}"))["device_unflushed_bytes"])
    if not wait_until(lambda: unflushed() == 0, seconds):
        raise AssertionError(f"namespace {namespace}: {unflushed()} bytes still unflushed after {seconds} s")


def _unprivileged_plan():
    """((uid, gid) or None, sentence): who the shared daemons run as, and why."""
    if os.geteuid() != 0:
        return None, f"cairnd runs as the invoking user (uid {os.geteuid()}): the suite is not root"
    if os.environ.get("CAIRN_TEST_AS_ROOT") == "1":
        return None, "cairnd runs as root: CAIRN_TEST_AS_ROOT=1"
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None, "cairnd runs as root: this machine has no user 'nobody' to switch to"
    return (entry.pw_uid, entry.pw_gid), \
        f"shared cairnd daemons run as nobody (uid {entry.pw_uid}); other daemons as root (CAIRN_TEST_AS_ROOT=1: all root)"


UNPRIVILEGED, UNPRIVILEGED_REASON = _unprivileged_plan()
_unprivileged_binary = None


def unprivileged_binary():
    """CAIRND copied once into a directory any user can read (the build tree may sit under a
    0700 directory)."""
    global _unprivileged_binary
    if _unprivileged_binary is None:
        bindir = tempfile.mkdtemp(prefix="cairn-test-bin-", dir="/tmp")
        os.chmod(bindir, 0o755)
        _unprivileged_binary = os.path.join(bindir, "cairnd")
        shutil.copy2(CAIRND, _unprivileged_binary)
        os.chmod(_unprivileged_binary, 0o755)
    return _unprivileged_binary


def pytest_report_header(config):
    return UNPRIVILEGED_REASON


def pytest_sessionfinish(session, exitstatus):
    if _unprivileged_binary:
        shutil.rmtree(os.path.dirname(_unprivileged_binary), ignore_errors=True)
    shutil.rmtree(CLIENT_LUA_PATH, ignore_errors=True)


def device_storage(backing, commit_to_device=False, flush_max_ms=100, extra=""):
    """A `storage-engine device` stanza over `backing` (`file PATH\n filesize N` or `device PATH`),
    with `extra` lines (e.g. `post-write-cache 0`)."""
    extra_lines = f"\n        {extra}" if extra else ""  # none: the stanza other tests edit stays as it was
    return f"""storage-engine device {{
        {backing}
        write-block-size 1M
        flush-max-ms {flush_max_ms}
        commit-to-device {"true" if commit_to_device else "false"}{extra_lines}
    }}"""


def config_text(directory, port, storage, shm, pidfile, sprigs=None, file_log=None, service_extra=""):
    """A cairnd config for tests: namespace `test` with `storage`, service on 127.0.0.1:`port`,
    shared memory in `shm` (never the default /dev/shm name, which parallel daemons would share),
    console logging, or a file sink at `file_log`."""
    sink = f"file {file_log}" if file_log else "console"
    sprig_line = f"partition-tree-sprigs {sprigs}" if sprigs else ""
    return f"""service {{
    work-directory {directory}
    pidfile {pidfile}
    shm-directory {shm}
    {service_extra}
}}
logging {{
    {sink} {{
        context any info
    }}
}}
network {{
    service {{
        address 127.0.0.1
        port {port}
    }}
}}
namespace test {{
    replication-factor 1
    {sprig_line}
    {storage}
}}
"""


class Daemon:
    """One cairnd process; start/stop/restart keep the same files and port."""

    def __init__(self, directory, port, commit_to_device=False, storage=None, sprigs=None, service_extra="",
                 run_as=None):
        # run_as (uid, gid): cairnd runs as that user; `directory` must be one it can reach.
        self.run_as = run_as
        self.directory = directory
        self.port = port
        self.config = os.path.join(directory, "cairn.conf")
        self.log = os.path.join(directory, "cairnd.log")
        # Shared memory (warm restarts) in a directory of this daemon's own, removed by cleanup().
        self.shm = tempfile.mkdtemp(prefix="cairn-test-", dir="/dev/shm")
        if run_as:
            for path in (directory, self.shm):
                os.chown(path, *run_as)
                os.chmod(path, 0o700)
        if storage is None:
            storage = device_storage(f"file {directory}/test.dat\n        filesize 256M", commit_to_device)
        self.storage = storage
        self.sprigs = sprigs
        self.service_extra = service_extra
        self.write_config()
        self.process = None

    def write_config(self):
        with open(self.config, "w") as f:
            f.write(config_text(self.directory, self.port, storage=self.storage, shm=self.shm,
                                pidfile=f"{self.directory}/cairnd.pid", sprigs=self.sprigs,
                                service_extra=self.service_extra))
        if self.run_as:
            os.chown(self.config, *self.run_as)

    def start(self, *args):
        if self.run_as:
            self.process = subprocess.Popen([unprivileged_binary(), "--config-file", self.config, "--foreground", *args],
                                            stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
                                            user=self.run_as[0], group=self.run_as[1], extra_groups=[])
        else:
            self.process = subprocess.Popen([CAIRND, "--config-file", self.config, "--foreground", *args],
                                            stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cairnd exited with {self.process.returncode}: {open(self.log).read()[-2000:]}")
            if ready(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError("cairnd did not become ready in 60 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        code = self.process.returncode if self.process else None
        self.process = None
        return code

    def kill(self):
        """SIGKILL: no clean shutdown."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)
        self.process = None

    def cleanup(self):
        # With the directories a test derived from it (test_ownership's `<shm>-second`).
        for path in glob.glob(glob.escape(self.shm) + "*"):
            shutil.rmtree(path, ignore_errors=True)

    def log_text(self):
        with open(self.log) as f:
            return f.read()


@contextlib.contextmanager
def serving(d):
    """Starts `d` for the body of a `with`, then stops it. When the body passed, checks the stop
    was clean; when it raised, still stops the daemon and removes its shared-memory directory
    (a failing test must not leave a daemon running), and lets the body's error through. A
    start that fails cleans up the same way."""
    try:
        d.start()
        yield d
    except BaseException:
        d.stop()
        d.cleanup()
        raise
    code = d.stop()
    d.cleanup()
    assert code == 0, d.log_text()[-2000:]
    assert "finished clean shutdown" in d.log_text()
    if d.run_as:  # a directory of its own under /tmp (kept when the stop was not clean)
        shutil.rmtree(d.directory, ignore_errors=True)


def serve(d):
    """Starts `d`, yields it, then stops it as `serving` does (for fixtures: pytest resumes a
    fixture's generator after its tests, whether they passed or failed)."""
    with serving(d):
        yield d


def shared_daemon_directory(tmp_path_factory, name):
    """A directory for a shared daemon: under pytest's temporary root, or, when the daemon runs
    unprivileged, one of its own under /tmp (pytest's root is 0700 root)."""
    if UNPRIVILEGED:
        return tempfile.mkdtemp(prefix=f"{name}-", dir="/tmp")
    return str(tmp_path_factory.mktemp(name))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    yield from serve(Daemon(shared_daemon_directory(tmp_path_factory, "cairnd"), free_port(), run_as=UNPRIVILEGED))


def client_config(port):
    return {"hosts": [("127.0.0.1", port)], "lua": {"user_path": CLIENT_LUA_PATH}}


def connect(daemon):
    return aerospike.client(client_config(daemon.port)).connect()


def put_records(daemon, set_name, count, value):
    """Puts keys 0..<count of `set_name` in namespace `test`, each with bin `v` = `value`, over
    one connection."""
    c = connect(daemon)
    try:
        for i in range(count):
            c.put(("test", set_name, i), {"v": value})
    finally:
        c.close()


@pytest.fixture()
def client(daemon):
    c = connect(daemon)
    yield c
    c.close()


def operate_error_code(client, key, operations):
    """The result code of an operate that must fail."""
    with pytest.raises(ex.AerospikeError) as info:
        client.operate(key, operations)
    return info.value.code
