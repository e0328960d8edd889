"""Pull 100,000 records through the ZK simulator over TCP, beside decoding the same bytes alone.

Run: .venv/bin/python bench/pull_bench.py [--records N] [--width 40] [--chunk 65472 ...]

The pull is the whole client path on 127.0.0.1 (CONNECT, GET_FREE_SIZES, DISABLEDEVICE,
1503, chunked 1504 reads, FREE_DATA, decoding, ENABLEDEVICE, EXIT); the floor is
decode_attlog_buffer on the identical bytes, so the difference is the protocol's cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.zk import codec  # noqa: E402
from devices.zk.client import ZKClient  # noqa: E402
from devices.zk.codec import AttendanceRecord  # noqa: E402
from devices.zk.simulator import Terminal, serve  # noqa: E402
from devices.zk.transport import TCP_CHUNK, open_transport  # noqa: E402


def make_records(n: int, users: int = 5000) -> list[AttendanceRecord]:
    """n punches of ``users`` people, in time order (zero-padded ids, as 40/49-byte logs keep)."""
    start = datetime(2025, 1, 1, 7, 0)
    return [
        AttendanceRecord(f"{i % users + 1:05d}", start + timedelta(seconds=7 * i), i % 2, 1, None,
                         None, b"")
        for i in range(n)
    ]


def best_of(runs: int, fn) -> float:  # noqa: ANN001 - a tiny timing helper
    """Fastest wall time of ``runs`` calls (the least disturbed run)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    """Print records per second of a TCP pull and of decoding alone, per chunk size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--width", type=int, default=40, choices=codec.RECORD_WIDTHS)
    parser.add_argument("--chunk", type=int, nargs="+", default=[16 * 1024, TCP_CHUNK])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    terminal = Terminal(make_records(args.records), width=args.width)
    buffer = terminal.buffer()
    print(f"{args.records:,} records of {args.width} bytes = {len(buffer):,} bytes"
          f" (encoded by the simulator in {time.perf_counter() - t0:.2f} s)")

    decode_s = best_of(args.runs, lambda: codec.decode_attlog_buffer(buffer, args.records))
    print(f"decode alone          : {decode_s:6.3f} s  {args.records / decode_s:>12,.0f} records/s")

    server = serve("tcp", port=0, terminal=terminal, block=False, announce=lambda _: None)
    try:
        for chunk in args.chunk:
            def pull(chunk: int = chunk) -> None:
                transport = open_transport("zk_tcp", server.settings, 10.0)
                with ZKClient(transport, timeout=10.0, chunk_size=chunk) as zk:
                    zk.disable()
                    result = zk.read_attendance()
                    zk.enable()
                assert len(result.records) == args.records, len(result.records)

            pull_s = best_of(args.runs, pull)
            print(f"TCP pull, chunk {chunk:>6,}: {pull_s:6.3f} s  {args.records / pull_s:>12,.0f}"
                  f" records/s  ({len(buffer) / pull_s / 1e6:.1f} MB/s,"
                  f" {-(-len(buffer) // chunk)} chunks; decode is {decode_s / pull_s:.0%} of it)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
