"""Fixtures: a real cairnd process on a free 127.0.0.1 port over files in a temp dir, and the
official Aerospike Python client connected to it."""
import os
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port, host="127.0.0.1"):
    """True once cairnd answers info `status` with `ok` (while namespaces open, the port already
    listens and answers `starting`)."""
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            body = b"status\n"
            s.sendall(((2 << 56) | (1 << 48) | len(body)).to_bytes(8, "big") + body)
            data = b""
            while len(data) < 8 or len(data) < 8 + (int.from_bytes(data[:8], "big") & 0xFFFFFFFFFFFF):
                chunk = s.recv(4096)
                if not chunk:
                    return False
                data += chunk
            return b"status\tok\n" in data[8:]
    except OSError:
        return False


def device_storage(backing, commit_to_device=False):
    """A `storage-engine device` stanza over `backing` (`file PATH\n filesize N` or `device PATH`)."""
    return f"""storage-engine device {{
        {backing}
        write-block-size 1M
        flush-max-ms 100
        commit-to-device {"true" if commit_to_device else "false"}
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

    def __init__(self, directory, port, commit_to_device=False, storage=None, sprigs=None, service_extra=""):
        self.directory = directory
        self.port = port
        self.config = os.path.join(directory, "cairn.conf")
        self.log = os.path.join(directory, "cairnd.log")
        # Shared memory (warm restarts) in a directory of this daemon's own, removed by cleanup().
        self.shm = tempfile.mkdtemp(prefix="cairn-test-", dir="/dev/shm")
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

    def start(self, *args):
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
        shutil.rmtree(self.shm, ignore_errors=True)

    def log_text(self):
        with open(self.log) as f:
            return f.read()


def serve(d):
    """Starts `d`, yields it, then stops it and checks the stop was clean (for fixtures)."""
    d.start()
    yield d
    code = d.stop()
    d.cleanup()
    assert code == 0, d.log_text()[-2000:]
    assert "finished clean shutdown" in d.log_text()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    yield from serve(Daemon(str(tmp_path_factory.mktemp("cairnd")), free_port()))


def connect(daemon):
    return aerospike.client({"hosts": [("127.0.0.1", daemon.port)]}).connect()


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
