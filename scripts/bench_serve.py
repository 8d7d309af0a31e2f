"""Serving latency: `netsec serve` vs `mlflow models serve` for the same registered model, on loopback.

Builds a project in a temporary folder (the repository's config, tracking on into
sqlite:///<tmp>/mlruns.db), runs `netsec run --source synthetic`, reads the registered version from
artifacts/train/tracking.json, then starts both servers as subprocesses on free loopback ports:
  netsec   `netsec --config <cfg> serve --port P` (NETSEC_SERVE_TOKEN in its environment),
           POST /predict with {"columns": [...], "data": [[...]]} (--body records: {"records": rows})
  MLflow   `mlflow models serve -m models:/<name>/<v> --env-manager local`,
           POST /invocations with {"dataframe_split": {...}} (--body records: {"dataframe_records": rows})
Rows are real flows from artifacts/etl/raw.parquet (target and dropped columns removed, NaN as
null), sampled without replacement into bodies of 1, 100 and 10 000 rows, JSON-encoded once before
timing. Each (size, clients) cell sends a fixed number of requests (--scale multiplies them) from
1 or 8 threads of this process, each with its own persistent httpx.Client, in --rounds rounds that
alternate the servers; a request's latency is send to last byte. rows/s is rows sent / wall time.
Also checks that both servers give the same probabilities for the same rows, and the targets:
netsec p50 for one row <= 5 ms and <= 0.5x MLflow's; 10 000-row requests at >= 100 000 rows/s.
If MLflow's server cannot start (or --no-mlflow), the netsec half still runs.
--threads N sets compute.threads for netsec serve and OMP_NUM_THREADS for MLflow's server (default:
the config's auto, all CPUs, for both). --workdir DIR builds (or reuses, when already trained) the
project in DIR instead of a temporary folder.

    .venv/bin/python scripts/bench_serve.py [--scale 1.0] [--sizes 1,100,10000] [--rounds 2] [--threads N]
                                            [--no-mlflow] [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SIZES = {1: 300, 100: 100, 10_000: 20}  # rows per request: requests per cell at --scale 1
CLIENTS = (1, 8)
WARMUP = {1: 30, 100: 10, 10_000: 3}
BODIES_PER_SIZE = 4
CORES_NOTE = "client threads and both servers share this machine's {cpus} CPUs; figures are noisy"


@dataclass
class Server:
    """One running server: its process, URL, predict path and request headers."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    path: str
    key: str
    headers: dict[str, str]
    log: Path
    bodies: dict[int, list[bytes]] = field(default_factory=dict)


@dataclass
class Cell:
    """The measurements of one (size, clients, server)."""

    size: int
    clients: int
    server: str
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return {
            "size": self.size, "clients": self.clients, "server": self.server, "requests": len(ordered),
            "p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000,
            "rows_per_s": self.size * len(ordered) / self.wall, "errors": self.errors,
        }  # fmt: skip


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(root: Path) -> tuple[Path, str, str, str | None]:
    """Config, registered model name, version and tracking problem of a trained project in `root`
    (trains it first when needed; a tracking failure still leaves the model for netsec serve)."""
    config_path = root / "config" / "config.yaml"
    tracking = root / "artifacts" / "train" / "tracking.json"
    if not tracking.is_file():
        raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        raw["paths"]["root"] = str(root)
        raw["logging"]["config_file"] = str(REPO / "config" / "logging.yaml")
        raw["tracking"].update(enabled=True, tracking_uri=f"sqlite:///{root}/mlruns.db")
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        _progress("training: netsec run --source synthetic ...")
        run = subprocess.run([str(BIN / "netsec"), "--config", str(config_path), "-q", "run", "--source", "synthetic"], capture_output=True, text=True, check=False)
        if not tracking.is_file():
            raise SystemExit(f"netsec run failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    record = json.loads(tracking.read_text())
    name = yaml.safe_load(config_path.read_text())["tracking"]["registered_model"]
    version = str(record.get("model_version") or "")
    return config_path, name, version, None if version else f"train registered no model version: {record.get('error')}"


def _with_threads(config_path: Path, threads: int | None) -> Path:
    """`config_path`, or a copy beside it with compute.threads set to `threads`."""
    if threads is None:
        return config_path
    raw = yaml.safe_load(config_path.read_text())
    raw.setdefault("compute", {})["threads"] = threads
    path = config_path.with_name(f"config-threads-{threads}.yaml")
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _bodies(root: Path, sizes: list[int], seed: int) -> dict[int, list[list[dict[str, Any]]]]:
    """Row sets per size: real flows without target/dropped columns, NaN as null."""
    import numpy as np
    import pandas as pd

    raw = yaml.safe_load((root / "config" / "config.yaml").read_text())["data"]
    frame = pd.read_parquet(root / "artifacts" / "etl" / "raw.parquet")
    frame = frame.drop(columns=[c for c in [raw["target"], *raw["drop_columns"]] if c in frame.columns])
    rng = np.random.default_rng(seed)
    out: dict[int, list[list[dict[str, Any]]]] = {}
    for size in sizes:
        picks = [rng.choice(len(frame), size=min(size, len(frame)), replace=False) for _ in range(BODIES_PER_SIZE)]
        out[size] = [json.loads(frame.iloc[p].to_json(orient="records")) for p in picks]
    return out


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    """Until `path` answers 200; RuntimeError with the log's last line if the process dies or times out."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    lines = [line for line in server.log.read_text(errors="replace").splitlines() if line.strip()]
    _progress(f"--- {server.log} (last lines)\n" + "\n".join(lines[-15:]))
    how = f"exit {server.process.returncode}" if server.process.poll() is not None else f"not ready after {timeout:.0f}s"
    raise RuntimeError(f"{server.name} server failed ({how}): {lines[-1] if lines else 'no output'}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (mlflow execs uvicorn in a child), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _run(server: Server, size: int, requests: int, clients: int, cell: Cell) -> None:
    """Send `requests` bodies of `size` rows from `clients` threads; add latencies and wall time to `cell`."""
    import httpx

    bodies = server.bodies[size]
    lock, taken = threading.Lock(), [0]
    start = threading.Barrier(clients + 1, timeout=600)

    def worker() -> None:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=300) as client:
            client.post(server.path, content=bodies[0])  # open the connection before timing
            start.wait()
            while True:
                with lock:
                    index = taken[0]
                    taken[0] += 1
                if index >= requests:
                    return
                began = time.perf_counter()
                answer = client.post(server.path, content=bodies[index % len(bodies)])
                elapsed = time.perf_counter() - began
                with lock:
                    cell.latencies.append(elapsed)
                    cell.errors += answer.status_code != 200

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    cell.wall += time.perf_counter() - began


MEDIA = {"split": "application/json", "records": "application/json", "csv": "text/csv"}


def _encode(server: Server, rows: list[dict[str, Any]], shape: str) -> bytes:
    """One request body: the rows as records, or column-oriented (`split`: columns + data)."""
    if shape == "records":
        return json.dumps({server.key: rows}).encode()
    if shape == "csv":
        import pandas as pd

        return pd.DataFrame(rows).to_csv(index=False).encode()
    table = {"columns": list(rows[0]), "data": [list(row.values()) for row in rows]}
    return json.dumps(table if server.name == "netsec" else {"dataframe_split": table}).encode()


def _probabilities(server: Server, rows: list[dict[str, Any]], shape: str = "records") -> list[float]:
    import httpx

    body = _encode(server, rows, shape)
    headers = {**server.headers, "Content-Type": MEDIA[shape]}
    answer = httpx.post(server.url + server.path, content=body, headers=headers, timeout=300)
    answer.raise_for_status()
    return [float(p["probability"]) for p in answer.json()["predictions"]]


def _bench(servers: list[Server], sizes: list[int], scale: float, rounds: int, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    for server in servers:
        for size in sizes:
            _run(server, size, WARMUP[size], 1, Cell(size, 1, server.name))
    results = []
    for size in sizes:
        base = SIZES[size]
        per_round = max(5, round(base * scale / rounds))
        for clients in CLIENTS:
            cells = {s.name: Cell(size, clients, s.name) for s in servers}
            for number in range(rounds):
                for server in servers if number % 2 == 0 else servers[::-1]:
                    _run(server, size, per_round, clients, cells[server.name])
            for cell in cells.values():
                results.append(cell.summary())
                progress(f"{size:>6} rows x{clients} {cell.server:<7} p50 {results[-1]['p50_ms']:.2f} ms")
    return results


def _table(results: list[dict[str, Any]]) -> list[str]:
    p50 = {(r["size"], r["clients"], r["server"]): r["p50_ms"] for r in results}
    lines = [f"{'rows':>6} {'clients':>7}  {'server':<7} {'requests':>8} {'p50 ms':>9} {'p99 ms':>9} {'rows/s':>11}  {'p50 netsec/MLflow':>17}"]
    for r in results:
        other = p50.get((r["size"], r["clients"], "mlflow"))
        ratio = f"{r['p50_ms'] / other:.2f}x" if r["server"] == "netsec" and other else ""
        errors = f"  ({r['errors']} errors)" if r["errors"] else ""
        lines.append(
            f"{r['size']:>6} {r['clients']:>7}  {r['server']:<7} {r['requests']:>8} {r['p50_ms']:>9.2f} {r['p99_ms']:>9.2f}"
            f" {r['rows_per_s']:>11,.0f}  {ratio:>17}{errors}"
        )
    return lines


def _targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets that this run measured."""
    get = {(r["size"], r["clients"], r["server"]): r for r in results}
    checks = []
    one, mlflow_one = get.get((1, 1, "netsec")), get.get((1, 1, "mlflow"))
    if one is not None:
        checks.append({"target": "netsec p50, 1 row, 1 client <= 5 ms", "value": one["p50_ms"], "passed": one["p50_ms"] <= 5.0})
        checks.append({
            "target": "netsec p50, 1 row, 1 client <= 0.5x MLflow's",
            "value": one["p50_ms"] / mlflow_one["p50_ms"] if mlflow_one else None,
            "passed": one["p50_ms"] <= 0.5 * mlflow_one["p50_ms"] if mlflow_one else None,
        })  # fmt: skip
    for clients in CLIENTS:
        big = get.get((10_000, clients, "netsec"))
        if big is not None:
            target = f"netsec 10 000 rows/request, {clients} client{'s' if clients > 1 else ''} >= 100 000 rows/s"
            checks.append({"target": target, "value": big["rows_per_s"], "passed": big["rows_per_s"] >= 100_000})
    return checks


def _check_line(check: dict[str, Any], mlflow_one: float | None) -> str:
    if check["passed"] is None:
        return f"SKIP  {check['target']}: MLflow not measured"
    value = check["value"]
    shown = f"{value:,.0f} rows/s" if "rows/s" in check["target"] else f"{value:.2f}x (MLflow {mlflow_one:.2f} ms)" if "MLflow" in check["target"] else f"{value:.2f} ms"
    return f"{'PASS' if check['passed'] else 'MISS'}  {check['target']}: {shown}"


def main() -> int:
    parser = argparse.ArgumentParser(description="netsec serve vs mlflow models serve: latency and throughput")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the requests per cell (300/100/20 for 1/100/10 000 rows)")
    parser.add_argument("--sizes", default="1,100,10000", help="rows per request to measure, of 1,100,10000")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per cell, alternating the servers")
    parser.add_argument("--no-mlflow", action="store_true", help="benchmark netsec serve only")
    parser.add_argument("--workdir", type=Path, help="project folder to build or reuse (default: a temporary one)")
    parser.add_argument("--ready-timeout", type=float, default=180.0, help="seconds to wait for each server")
    parser.add_argument("--threads", type=int, help="scoring threads for both servers (default: all CPUs)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling the request rows")
    parser.add_argument("--body", choices=("split", "records", "csv"), default="split", help="JSON body shape sent to both servers: split "
                        "(netsec {columns, data}; MLflow {dataframe_split}), records (netsec {records}; MLflow {dataframe_records}) or csv (text/csv to both)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip().isdigit()]
    if len(sizes) != len(args.sizes.split(",")) or any(size not in SIZES for size in sizes):
        parser.error(f"--sizes takes some of {','.join(map(str, SIZES))}")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="netsec-bench-serve-") as tmp:
        root = (args.workdir or Path(tmp)).resolve()
        config_path, model_name, version, tracking_problem = _project(root)
        config_path = _with_threads(config_path, args.threads)
        threads_env = {"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}
        rows = _bodies(root, sizes, args.seed)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        servers: list[Server] = []
        mlflow_problem = "--no-mlflow" if args.no_mlflow else tracking_problem
        try:
            token = secrets.token_hex(32)
            port = _free_port()
            netsec = Server(
                "netsec", _start([str(BIN / "netsec"), "--config", str(config_path), "serve", "--port", str(port)], {**env, "NETSEC_SERVE_TOKEN": token}, root / "netsec-serve.log"),
                f"http://127.0.0.1:{port}", "/predict", "records", {"Authorization": f"Bearer {token}", "Content-Type": MEDIA[args.body]}, root / "netsec-serve.log",
            )  # fmt: skip
            servers.append(netsec)
            if mlflow_problem is None:
                port = _free_port()
                command = [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{model_name}/{version}", "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port)]
                mlflow_env = {**env, **threads_env, "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlruns.db"}
                servers.append(Server("mlflow", _start(command, mlflow_env, root / "mlflow-serve.log"), f"http://127.0.0.1:{port}", "/invocations", "dataframe_records", {"Content-Type": MEDIA[args.body]}, root / "mlflow-serve.log"))
            _wait_ready(netsec, "/readyz", args.ready_timeout)
            if len(servers) == 2:
                try:
                    _wait_ready(servers[1], "/ping", args.ready_timeout)
                    _probabilities(servers[1], rows[sizes[0]][0][:1])
                except Exception as exc:  # noqa: BLE001 - any MLflow failure leaves the netsec half
                    mlflow_problem = str(exc).strip() if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
                    _stop(servers.pop().process)
                    _progress(f"MLflow server unavailable, netsec only: {mlflow_problem}")
            for server in servers:
                server.bodies = {size: [_encode(server, r, args.body) for r in sets] for size, sets in rows.items()}
            agreement = None
            if len(servers) == 2:
                sample = rows[max(sizes)][0]
                ours, theirs = _probabilities(servers[0], sample), _probabilities(servers[1], sample)
                agreement = {"rows": len(sample), "max_abs_diff": max(abs(a - b) for a, b in zip(ours, theirs, strict=True))}
            load_before = os.getloadavg()[0]
            results = _bench(servers, sizes, args.scale, args.rounds, _progress)
            load = {"before": load_before, "after": os.getloadavg()[0]}
        finally:
            for server in servers:
                _stop(server.process)

    mlflow_one = next((r["p50_ms"] for r in results if (r["size"], r["clients"], r["server"]) == (1, 1, "mlflow")), None)
    checks = _targets(results)
    note = CORES_NOTE.format(cpus=cpus) + f" (1-min load average {load['before']:.1f} before, {load['after']:.1f} after)"
    if args.json:
        document = {"model_version": version, "cpus": cpus, "note": note, "scale": args.scale, "rounds": args.rounds, "threads": args.threads or "auto",
                    "mlflow_problem": mlflow_problem, "agreement": agreement, "results": results, "targets": checks}  # fmt: skip
        print(json.dumps(document, indent=2))
        return 0
    print(f"model {model_name} v{version}; one uvicorn worker each, scoring threads {args.threads or 'auto'}; {note}")
    print("\n".join(_table(results)))
    if agreement is not None:
        print(f"probabilities, same {agreement['rows']:,} rows: max |netsec - MLflow| = {agreement['max_abs_diff']:.3g}")
    else:
        print(f"MLflow not measured: {mlflow_problem}")
    for check in checks:
        print(_check_line(check, mlflow_one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
