"""Observability and runtime control: `latencies:` / `latency:` in Aerospike's format (parsed
with the rules asadm applies), `set-config` and its effects, the log commands, and the metrics
endpoint."""
import re

import aerospike
import pytest

from conftest import connect
from test_parameters import info, pairs

# asadm's reading of a `latencies:` answer (lib/live_cluster/client/node.py, info_latencies):
# entries split on ';', each `<name>:<data>`; data split on ','; entries of two fields or fewer are
# empty histograms and skipped; `{ns}-<hist>` names a namespace histogram; the first field is the
# time unit (msec or usec), the rest are floats: ops/sec, then the percentages over 1, 2, 4 … ms.
NS_HIST = re.compile(r"{([A-Za-z_\d-]+)}-([A-Za-z_-]+)")
ASADM_COLUMNS = [">1", ">2", ">4", ">8", ">16", ">32", ">64", ">128", ">256", ">512", ">1024", ">2048",
                 ">4096", ">8192", ">16384", ">32768", ">65536"]


def parse_latencies(text):
    """{(namespace or None, histogram): {"unit": ..., "ops": float, "over": [float x 17]}}, as
    asadm would read it (asserting every step asadm takes would succeed)."""
    result = {}
    for entry in text.split(";"):
        if not entry:
            continue
        name, data = entry.split(":")  # asadm: exactly one ':' per entry
        fields = data.split(",")
        if len(fields) <= 2:
            continue
        m = re.search(NS_HIST, name)
        ns, hist = (m.group(1), m.group(2)) if m else (None, name)
        unit = fields.pop(0)
        assert unit in ("msec", "usec")
        values = [float(v) for v in fields]
        assert len(values) == 1 + len(ASADM_COLUMNS), entry
        result[(ns, hist)] = {"unit": unit, "ops": values[0], "over": values[1:]}
    return result


def test_latencies_format_and_counts(daemon):
    c = connect(daemon)
    try:
        for i in range(300):
            c.put(("test", "lat", i), {"v": i})
        for i in range(300):
            c.get(("test", "lat", i))
        for _ in range(20):
            c.batch_read([("test", "lat", i) for i in range(10)])
        c.scan("test", "lat").results()
    finally:
        c.close()
    text = info(daemon.port, "latencies:")
    parsed = parse_latencies(text)
    names = [entry.split(":")[0] for entry in text.split(";")]
    assert names[0] == "batch-index"
    assert {"{test}-read", "{test}-write", "{test}-udf", "{test}-query"} <= set(names)
    for key in [("test", "read"), ("test", "write"), (None, "batch-index"), ("test", "query")]:
        assert key in parsed, text
        assert parsed[key]["unit"] == "msec"
        assert parsed[key]["ops"] > 0, text
        over = parsed[key]["over"]
        assert all(0 <= p <= 100 for p in over)
        assert over == sorted(over, reverse=True), "a percentage over a longer time is never larger"
    # No UDFs in Cairn: the histogram is there, empty, as Aerospike shows one with no data.
    assert "{test}-udf:" in text.split(";")
    # Two decimals for percentages, one for ops/sec, as the server prints them.
    read = [e for e in text.split(";") if e.startswith("{test}-read:")][0]
    assert re.fullmatch(r"\{test\}-read:msec,\d+\.\d(,\d+\.\d\d){17}", read), read


def test_latencies_single_histogram_and_unknown(daemon):
    c = connect(daemon)
    try:
        c.put(("test", "lat1", 1), {"v": 1})
    finally:
        c.close()
    one = info(daemon.port, "latencies:hist={test}-write")
    assert one.startswith("{test}-write:msec,")
    assert ";" not in one
    assert info(daemon.port, "latencies:hist={nope}-read").startswith("error")


def test_legacy_latency(daemon):
    text = info(daemon.port, "latency:hist={test}-write")
    header, row = text.strip(";").split(";")
    assert re.fullmatch(r"\{test\}-write:\d\d:\d\d:\d\d-GMT,ops/sec,>1ms,>8ms,>64ms", header), text
    assert re.fullmatch(r"\d\d:\d\d:\d\d,\d+\.\d,\d+\.\d\d,\d+\.\d\d,\d+\.\d\d", row), text
