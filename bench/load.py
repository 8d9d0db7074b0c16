"""Mixed load on PostgreSQL (issue 16): 50 clients for 60 s against 2 gunicorn web and 2 worker processes.

A PostgreSQL cluster of its own (faults.run.private_postgres), Redis database 8 (cache, sessions, RQ), the demo
data (alice's products on real images, bruce), then 10 buyers with a balance and 5 providers with a draft each. The clients, all at once:
- 30 readers: catalog searches, the catalog API's product, the product page;
- 10 editors, two per draft: each reads the draft and saves its summary with the lock_version it read, so the
  pairs collide (409, counted) and every save that succeeded is checked afterwards: none may be lost;
- 5 uploaders: a 1 MiB raw image each round (create, one chunk, complete), validated and scanned by the workers;
- 5 buyers: orders of the boot test product, each sent twice with one Idempotency-Key (a double submit), at most
  4 per buyer (each is a real VM), terminated right after; afterwards every order has exactly one charge.
Printed: requests, p50 and p99 per kind, the status counts, and the checks. Environment: SHELF_LOAD_CLIENTS (50),
SHELF_LOAD_SECONDS (60).
"""

from __future__ import annotations

import collections
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from faults.run import Shelf, private_postgres, redis_database, rq_env

CLIENTS = int(os.environ.get("SHELF_LOAD_CLIENTS", "50"))
SECONDS = int(os.environ.get("SHELF_LOAD_SECONDS", "60"))
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm0Zr4wQXbHgTD6cSxpPSgfyJ5Y1L1vH6o1m2GzZ0aD load@bench"
ORDERS_PER_BUYER = 4
REDIS_DB = "8"  # of the machine's Redis on loopback, flushed before and after

SEED = """
import json
from decimal import Decimal
from shelf.accounts.models import User
from shelf.accounts.services import buyer_signup, provider_signup, token_create
from shelf.console.demo.boot import BOOT_NAME
from shelf.orders.models import InstanceOffer
from shelf.orders.services import topup
from shelf.products.models import Revision

olivia = User.objects.get(username="olivia")
boot = Revision.objects.get(name=BOOT_NAME, status="listed")
region = boot.deliveries.first().region
offer = InstanceOffer.objects.filter(region=region, on_sale=True).order_by("price_monthly").first()
out = {"product": str(boot.product_id), "region": region.code, "instance_type": offer.instance_type.code,
       "listed": [str(r.product_id) for r in Revision.objects.filter(status="listed")], "buyers": [], "providers": []}
for n in range(10):
    user = buyer_signup(username=f"loadbuyer{n}", email=f"loadbuyer{n}@example.com", password="correct-Horse-battery-9")
    topup(actor=olivia, user=user, amount=Decimal("1000.00"), reason="load benchmark")
    out["buyers"].append(token_create(user=user, name="load")[1])
for n in range(5):
    user, _org = provider_signup(username=f"loadprov{n}", email=f"loadprov{n}@example.com",
                                 password="correct-Horse-battery-9", organization_name=f"Load Images {n}")
    out["providers"].append(token_create(user=user, name="load")[1])
print("SEED " + json.dumps(out))
"""

CHECK = """
import json
from collections import defaultdict
from shelf.orders.models import LedgerEntry, Order
from shelf.products.models import Revision
orders = list(Order.objects.values_list("id", flat=True))
charges = defaultdict(int)
for ref in LedgerEntry.objects.filter(ref__endswith=":charge").values_list("ref", flat=True):
    charges[ref.split(":")[1]] += 1
print("CHECK " + json.dumps({
    "orders": len(orders),
    "orders_without_one_charge": [str(o) for o in orders if charges.get(str(o), 0) != 1],
    "summaries": {str(r.product_id): r.summary for r in Revision.objects.filter(product__organization__name__startswith="Load Images")},
}))
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

    def call(self, kind: str, send, *args, **kwargs) -> httpx.Response | None:
        """`send(*args, **kwargs)`, timed and counted under `kind`; None when no answer came."""
        started = time.perf_counter()
        try:
            response = send(*args, **kwargs)
        except httpx.TransportError:
            with self.lock:
                self.statuses[kind][0] += 1
            return None
        with self.lock:
            self.times[kind].append((time.perf_counter() - started) * 1000)
            self.statuses[kind][response.status_code] += 1
        return response


def _reader(base, seed, rec: Recorder, stop, n):
    words = ["建站", "wordpress", "lnmp", "镜像", "debian", "boot"]
    with httpx.Client(base_url=base, timeout=60) as http:
        i = n
        while not stop.is_set():
            i += 1
            product = seed["listed"][i % len(seed["listed"])]
            kind = i % 3
            if kind == 0:
                rec.call("catalog search", http.get, "/api/v1/catalog", params={"q": words[i % len(words)]})
            elif kind == 1:
                rec.call("catalog product (API)", http.get, f"/api/v1/catalog/{product}")
            else:
                rec.call("product page", http.get, f"/products/{product}/")


def _editor(base, token, draft, rec: Recorder, stop, saves: list, n):
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        i = 0
        while not stop.is_set():
            i += 1
            read = rec.call("draft read", http.get, f"/api/v1/products/{draft}")
            if read is None or read.status_code != 200:
                continue
            summary = f"editor {n} save {i}"
            body = {"lock_version": read.json()["lock_version"], "summary": summary}
            saved = rec.call("draft save", http.patch, f"/api/v1/products/{draft}", json=body)
            if saved is not None and saved.status_code == 200:
                saves.append((draft, saved.json()["lock_version"], summary))


def _uploader(base, token, rec: Recorder, stop, n):
    import hashlib

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
        i = 0
        while not stop.is_set():
            i += 1
            data = os.urandom(1 << 20)
            body = {"name": f"load {n}.{i}", "region": "ap-guangzhou", "format": "raw", "size": len(data)}
            created = rec.call("upload: create", http.post, "/api/v1/images", json=body)
            if created is None or created.status_code != 201:
                continue
            image = created.json()["id"]
            content_range = {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
            rec.call(
                "upload: 1 MiB chunk", http.put, f"/api/v1/images/{image}/upload", content=data, headers=content_range
            )
            sha = hashlib.sha256(data).hexdigest()
            rec.call("upload: complete", http.post, f"/api/v1/images/{image}/upload/complete", json={"sha256": sha})


def _buyer(base, token, seed, rec: Recorder, stop, keys: list):
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
        for _ in range(ORDERS_PER_BUYER):
            if stop.is_set():
                return
            key = str(uuid.uuid4())
            body = {"product": seed["product"], "region": seed["region"], "instance_type": seed["instance_type"],
                    "months": 1, "ssh_public_key": KEY, "name": "load"}  # fmt: skip
            order, sent = None, 0
            # A double submit (the second answers the first order); a dropped connection is retried with the same
            # key, as a client should: that is what the key is for.
            while sent < 2 and not stop.is_set():
                answer = rec.call(
                    "order (Idempotency-Key)", http.post, "/api/v1/orders", json=body, headers={"Idempotency-Key": key}
                )
                if answer is None:
                    with rec.lock:
                        rec.statuses["order (Idempotency-Key)"][0] -= 1
                        rec.statuses["order retried: dropped connection"][0] += 1
                    continue
                sent += 1
                if answer.status_code in (200, 201):
                    order = order or answer.json()
            if order is None:
                continue
            keys.append((key, order["id"]))
            if order.get("instance"):
                rec.call("instance terminate", http.post, f"/api/v1/instances/{order['instance']}/terminate")
            time.sleep(0.5)


def bench_load() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="shelf-bench-load-"))
    try:
        with private_postgres(root) as cluster, redis_database(REDIS_DB) as redis_url:
            shelf = Shelf(root, cluster.url, extra=rq_env(redis_url))
            shelf.manage("migrate", "--noinput", "-v", "0")
            shelf.manage("demo_data")
            seed_file = root / "seed.py"
            seed_file.write_text(SEED)
            out = shelf.manage("shell", "-c", f"exec(open({str(seed_file)!r}).read())")
            seed = json.loads(out.split("SEED ", 1)[1])
            yield (
                f"PostgreSQL (own cluster) and Redis (cache, sessions, RQ), 2 gunicorn web processes, 2 rqworkers; "
                f"{CLIENTS} clients for {SECONDS} s: 30 readers, 10 editors on 5 drafts, 5 uploaders, 5 buyers"
            )
            base = shelf.serve(workers=2)
            shelf.worker()
            shelf.worker()
            try:
                yield from _run(base, seed, shelf)
            finally:
                shelf.stop()
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


def _run(base: str, seed: dict, shelf: Shelf) -> Iterator[str]:
    drafts = []
    for token in seed["providers"]:
        made = httpx.post(
            f"{base}/api/v1/products", json={"name": "Load draft"}, headers={"Authorization": f"Bearer {token}"}
        )
        made.raise_for_status()
        drafts.append((token, made.json()["id"]))
    rec, stop, saves, keys = Recorder(), threading.Event(), [], []
    threads = []
    readers = max(0, CLIENTS - 20)
    for n in range(readers):
        threads.append(threading.Thread(target=_reader, args=(base, seed, rec, stop, n)))
    for n in range(10):
        token, draft = drafts[n % len(drafts)]
        threads.append(threading.Thread(target=_editor, args=(base, token, draft, rec, stop, saves, n)))
    for n in range(5):
        threads.append(threading.Thread(target=_uploader, args=(base, seed["providers"][n], rec, stop, n)))
    for n in range(5):
        threads.append(threading.Thread(target=_buyer, args=(base, seed["buyers"][n], seed, rec, stop, keys)))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=180)
    elapsed = time.monotonic() - started
    yield f"{'request':<28} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"
    server_errors = 0
    for kind in sorted(rec.statuses):
        times = rec.times.get(kind, [])
        counts = rec.statuses[kind]
        if not kind.startswith("order retried"):  # a client-side retry, not a failed answer
            server_errors += sum(n for status, n in counts.items() if status >= 500 or status == 0)
        p50 = statistics.median(times) if times else 0.0
        statuses = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(counts.items()) if n)
        yield f"{kind:<28} {sum(counts.values()):7d} {p50:8.1f} {_percentile(times, 0.99):8.1f}  {statuses}"
    total = sum(sum(c.values()) for c in rec.statuses.values())
    yield f"{total:,} requests in {elapsed:.0f} s ({total / elapsed:.0f}/s)"
    check_file = Path(tempfile.mkdtemp()) / "check.py"
    check_file.write_text(CHECK)
    checked = json.loads(shelf.manage("shell", "-c", f"exec(open({str(check_file)!r}).read())").split("CHECK ", 1)[1])
    last = {}
    for draft, version, summary in saves:
        if draft not in last or version > last[draft][0]:
            last[draft] = (version, summary)
    lost = [d for d, (_v, summary) in last.items() if checked["summaries"].get(d) != summary]
    conflicts = rec.statuses["draft save"][409]
    distinct_orders = {order for _key, order in keys}
    yield (
        f"checks: 5xx or no answer: {server_errors}; draft saves {len(saves)}, 409 conflicts {conflicts}, lost "
        f"edits {len(lost)}; orders {checked['orders']} (keys {len(keys)}, distinct {len(distinct_orders)}), "
        f"orders without exactly one charge: {len(checked['orders_without_one_charge'])}"
    )
    ok = (
        not server_errors
        and not lost
        and not checked["orders_without_one_charge"]
        and checked["orders"] == len(distinct_orders) == len(keys)
    )
    yield "load: " + ("PASSED" if ok else "FAILED")
