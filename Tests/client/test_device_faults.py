"""A device that starts failing writes under a running cairnd (a real kernel I/O error: a loop
device over a sparse file on a tmpfs that runs out of space). Requests must fail cleanly, the
log must name the device, nothing acknowledged may be lost, and after the fault is cleared a
restart recovers everything."""
import os
import shutil
import subprocess
import time

import aerospike
import pytest
from aerospike import exception as ex

from conftest import Daemon, device_storage, free_port


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def failing_device(tmp_path):
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        print("LOOP DEVICE UNAVAILABLE: device-fault test needs root and losetup")
        pytest.skip("LOOP DEVICE UNAVAILABLE: needs root and losetup")
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    run("mount", "-t", "tmpfs", "-o", "size=24M", "tmpfs", str(mnt))
    backing = mnt / "device.img"
    dev = None
    try:
        with open(backing, "wb") as f:
            f.truncate(256 << 20)  # sparse: the tmpfs fills after ~24 MiB of written blocks
        dev = run("losetup", "--find", "--show", str(backing))
        yield dev, mnt
    finally:
        if dev:
            subprocess.run(["losetup", "-d", dev], check=False)
        for _ in range(50):  # the loop device lets go of its file asynchronously
            if subprocess.run(["umount", str(mnt)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            print(f"warning: could not unmount {mnt}")


def client(daemon):
    return aerospike.client({"hosts": [("127.0.0.1", daemon.port)], "policies": {"timeout": 5000}}).connect()


def test_write_errors_fail_requests_cleanly_and_a_restart_recovers(failing_device, tmp_path):
    dev, mnt = failing_device
    d = Daemon(str(tmp_path), free_port(), storage=device_storage(f"device {dev}", commit_to_device=True))
    try:
        d.start()
        c = client(d)
        acked = []
        failure = None
        value = b"v" * 4000
        for i in range(20_000):
            try:
                c.put(("test", "fault", i), {"i": i, "b": value})
                acked.append(i)
            except ex.AerospikeError as e:
                failure = e
                break
        assert failure is not None, "the device never failed: the tmpfs limit did not apply"
        print(f"first failure after {len(acked)} acknowledged writes: {failure!r}")
        assert isinstance(failure, (ex.ServerError, ex.DeviceOverload, ex.ServerFull)), repr(failure)
        # Later writes keep failing cleanly (no hang, no crash); acknowledged records stay readable.
        with pytest.raises(ex.AerospikeError):
            c.put(("test", "fault", "after"), {"i": -1})
        assert d.process.poll() is None, "cairnd died on a device error"
        for i in acked[::97]:
            assert c.get(("test", "fault", i))[2]["i"] == i
        c.close()

        code = d.stop()
        print(f"cairnd exited with {code} after the device error")
        text = d.log_text()
        assert code != 0, "a stop that could not flush must not exit 0"
        assert "finished clean shutdown" not in text and "shutdown not clean" in text, text[-3000:]
        assert dev in text and "error" in text.lower(), text[-3000:]

        # Clear the fault, restart: a cold start finds every acknowledged write.
        run("mount", "-o", "remount,size=300M", str(mnt))
        d.start()
        c = client(d)
        keys = [("test", "fault", i) for i in acked]
        found = {}
        for j in range(0, len(keys), 500):
            for r in c.batch_read(keys[j:j + 500]).batch_records:
                if r.record is not None and r.record[2] is not None:
                    found[r.key[2]] = r.record[2]["i"]
        missing = [i for i in acked if found.get(i) != i]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:10]}"
        c.put(("test", "fault", "healed"), {"i": 1})
        assert c.get(("test", "fault", "healed"))[2]["i"] == 1
        c.close()
        print([l for l in d.log_text().splitlines() if "cold start finished" in l][-1])
        assert d.stop() == 0
    finally:
        d.stop()
        d.cleanup()
