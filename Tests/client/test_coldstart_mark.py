"""The blocks-written mark: a cold start of a big, nearly empty file reads only the blocks below
the device header's durable high-water mark (what was written, plus at most one 64-block step),
not the whole file; every record comes back; the progress line never reads `records 0` while
records are being found."""
import os
import re
import subprocess
import time

from conftest import CAIRND, Daemon, connect, device_storage, free_port, info, ready


def test_cold_start_of_a_big_nearly_empty_file_reads_only_what_was_written(tmp_path):
    directory = str(tmp_path)
    storage = device_storage(f"file {directory}/big.dat\n        filesize 32G", commit_to_device=True)
    d = Daemon(directory, free_port(), storage=storage)
    d.start()
    try:
        c = connect(d)
        for i in range(300):
            c.put(("test", "s", f"k{i}"), {"v": i, "pad": "x" * 500})
        c.close()
        d.kill()  # not clean: the next start is cold
        # Start by hand and read the progress over info while the namespace opens.
        d.process = subprocess.Popen([CAIRND, "--config-file", d.config], stdout=open(d.log, "a"),
                                     stderr=subprocess.STDOUT)
        statuses, progress = set(), []
        deadline = time.time() + 120
        while not ready(d.port):
            assert d.process.poll() is None and time.time() < deadline, d.log_text()[-2000:]
            try:
                statuses.add(info(d.port, "status"))
                progress.append(info(d.port, "cold-start"))
            except OSError:
                pass
            time.sleep(0.05)
        assert "starting" in statuses, statuses
        seen = [p for p in progress if p.startswith("ns=test:phase=")]
        assert seen, progress
        with_percent = [p for p in seen if "percent=" in p]
        if with_percent:
            last = dict(item.split("=", 1) for item in with_percent[-1].split(":"))
            assert last["phase"] == "cold start" and last["percent"] == "100.0" and int(last["records"]) == 300, last
            assert int(last["records_per_s"]) > 0 and "eta_s" in last, last
        else:
            # The scan (one block) can end, and the namespace be ready, between two 50 ms polls
            # (there is no index pass after the scan): its final progress is then in the log.
            final = [l for l in d.log_text().split("\n")
                     if "{test} cold start: 100.0% of the written blocks read, 300 records found" in l]
            assert final, (seen, d.log_text()[-2000:])
        c = connect(d)
        for i in range(300):
            assert c.get(("test", "s", f"k{i}"))[2]["v"] == i
        c.close()
        log = d.log_text()
        lines = [l for l in log.split("\n") if "{test} cold start: " in l]
        assert lines and all(not re.search(r"% of the written blocks read, 0 records found", l) or "0.0%" in l
                             for l in lines), lines
        finished = re.findall(r"cold start finished in ([0-9.]+)s .*? blocks=(\d+) .*?bytes=(\d+)", log)
        assert finished, log[-3000:]
        seconds, blocks, read = float(finished[-1][0]), int(finished[-1][1]), int(finished[-1][2])
        # One block holds the records; the mark is at most 64 blocks past the first unused one.
        assert read <= 65 * (1 << 20), f"cold start read {read} bytes of a 32 GiB file"
        assert blocks <= 65, blocks
        assert os.path.getsize(f"{directory}/big.dat") == 32 << 30
    finally:
        assert d.stop() == 0
        d.cleanup()
