"""libvirt's own C client (through python3-libvirt) making DOMAIN_GET_STATE calls over one
connection: sequentially, then from N threads sharing that connection. Prints JSON lines.
python3-libvirt releases the GIL around each C call, so the threads really overlap."""
import json
import sys
import threading
import time

import libvirt

uri, domain, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
threads_list = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 and sys.argv[4] else []

conn = libvirt.open(uri)
dom = conn.lookupByName(domain)
for _ in range(500):
    dom.state()


def sequential(n):
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        dom.state()
        lat.append(time.perf_counter() - s)
    return time.perf_counter() - t0, lat


elapsed, lat = sequential(calls)
lat.sort()
print(json.dumps({"mode": "sequential", "calls": calls, "seconds": elapsed,
                  "p50_us": lat[len(lat) // 2] * 1e6, "p99_us": lat[int(len(lat) * 0.99)] * 1e6}))

for n in threads_list:
    per = calls // n
    barrier = threading.Barrier(n + 1)

    def work():
        barrier.wait()
        for _ in range(per):
            dom.state()

    ts = [threading.Thread(target=work) for _ in range(n)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    print(json.dumps({"mode": f"threads-{n}", "calls": per * n, "seconds": time.perf_counter() - t0}))
    sys.stdout.flush()

conn.close()
