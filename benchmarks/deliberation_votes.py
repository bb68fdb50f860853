"""Load the vote API of a real server on PostgreSQL and check that every vote was kept once.

    .venv/bin/python benchmarks/deliberation_votes.py [--duration 60] [--warmup 10]
        [--connections 256] [--clients 2] [--workers 2] [--statements 200]
        [--with-analysis]

Builds a fresh PostgreSQL database (``missionboard_votes_bench`` on
``MISSIONBOARD_BENCH_POSTGRES_URL``, default the local server; dropped and created) with the
migrations, adds a published mission and an open conversation with ``--statements`` accepted
statements, and serves the application with uvicorn (uvloop, httptools, ``--workers``) in a
subprocess through ``missionboard.web.server:app``, as ``missionboard serve`` builds it (the
app's background analyser included: it re-analyses the conversation every 5 s while votes
arrive). Client processes then open ``--connections`` keep-alive
HTTP/1.1 connections over loopback (raw asyncio streams, one request at a time on each) and
post votes: on each connection one participant after another (``X-Participant-Id``) votes on
every statement once, in random order, with a random value. After ``--warmup`` seconds the
acknowledged votes (201s) are counted for ``--duration`` seconds, overall and per 10 seconds,
with the latency of each. Then the server stops and the database is checked: as many rows as
acknowledged votes, the same ids, no (participant, statement) pair twice, and every stored
value the one sent.

``--with-analysis`` also runs ``missionboard deliberation recompute <slug>`` in a loop while
the load runs (the command can be changed with ``--analysis-command``), to show that the
analysis does not hold up voting; the analysis runs recorded during the load are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.queues
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from machine import describe  # benchmarks/machine.py

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "missionboard_votes_bench"
SLUG = "votes-bench"
TARGET = 2_000
ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WINDOW = 10


# Setting up --------------------------------------------------------------------------------

def machine() -> str:
    return describe()


def fresh_postgres() -> str:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(os.environ.get("MISSIONBOARD_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.dispose()
    return admin_url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def seed(url: str, statements: int) -> str:
    """A published mission with an open conversation of ``statements`` accepted statements;
    returns the server's PostgreSQL version."""
    from missionboard.db.session import create_db_engine, create_session_factory, unit_of_work
    from missionboard.deliberation import service
    from missionboard.deliberation.models import ConversationStatus
    from missionboard.deliberation.schemas import ConversationIn
    from missionboard.missions import service as missions
    from missionboard.missions.models import MissionStatus
    from missionboard.missions.schemas import MissionIn

    engine = create_db_engine(url)
    with unit_of_work(create_session_factory(engine)) as session:
        mission = missions.create_mission(session, data=MissionIn(
            slug="bench", title="Benchmark mission", ambition="Many votes", horizon_year=2035))
        missions.set_mission_status(session, mission=mission, status=MissionStatus.PUBLISHED,
                                    actor=None, reason=None)
        conversation = service.create_conversation(session, mission=mission, data=ConversationIn(
            slug=SLUG, title="Benchmark conversation", question="What should we do?"))
        for number in range(statements):
            digest = hashlib.sha256(str(number).encode()).hexdigest()[:24]
            service.add_seed(session, conversation, f"Proposal {digest}")
        service.set_status(session, conversation, ConversationStatus.OPEN)
    with engine.connect() as conn:
        version = str(conn.exec_driver_sql("show server_version").scalar())
    engine.dispose()
    return version


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MISSIONBOARD_DATABASE_URL": url,
           "MISSIONBOARD_SECRET_KEY": "benchmark-secret-key-not-for-production",
           "MISSIONBOARD_NODE_MODULES": str(ROOT / "node_modules")}
    command = [str(VENV_BIN / "python"), "-m", "uvicorn", "--factory",
               "missionboard.web.server:app", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning", "--backlog", "4096"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at once (exit code {server.returncode})")
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/conversations/{SLUG}", timeout=2) as r:
                if r.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    stop(server)
    raise SystemExit("the server did not answer within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server: uvicorn finishes the requests in flight, then stops its workers and
    the app's background analyser; whatever is left of its process group after 30 s is
    killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


# Load --------------------------------------------------------------------------------------

@dataclass
class ClientResult:
    """What one client process sent and had acknowledged."""

    #: Acknowledged votes: id, participant (index into ``participants``), statement, value.
    vote_ids: array[int] = field(default_factory=lambda: array("q"))
    vote_participants: array[int] = field(default_factory=lambda: array("l"))
    vote_statements: array[int] = field(default_factory=lambda: array("l"))
    vote_values: array[int] = field(default_factory=lambda: array("b"))
    #: When each acknowledgement arrived (monotonic clock, shared by the processes).
    acked_at: array[float] = field(default_factory=lambda: array("d"))
    latency: array[float] = field(default_factory=lambda: array("d"))
    participants: list[str] = field(default_factory=list)
    #: Status (or exception name) → count, for everything that was not a 201.
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


class _Participants:
    """Hands out participants, each with its statements in a random order."""

    def __init__(self, client: int, statements: int, rng: random.Random,
                 result: ClientResult) -> None:
        self.client, self.statements, self.rng, self.result = client, statements, rng, result

    def next(self) -> tuple[int, str, list[int]]:
        index = len(self.result.participants)
        pid = f"bench-{self.client:02d}-{index:07d}-{self.rng.getrandbits(64):016x}"
        self.result.participants.append(pid)
        order = list(range(self.statements))
        self.rng.shuffle(order)
        return index, pid, order


async def _connection(port: int, path: bytes, people: _Participants, stop_at: float,
                      result: ClientResult) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = people.rng
    index, pid, order = people.next()
    head = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nX-Participant-Id: ")
    try:
        while time.monotonic() < stop_at:
            if not order:
                index, pid, order = people.next()
            statement = order.pop()
            value = rng.choice((-1, 0, 1))
            body = b'{"statement":%d,"vote":%d}' % (statement, value)
            sent = time.monotonic()
            writer.write(head + pid.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
                         + body)
            header = await reader.readuntil(b"\r\n\r\n")
            status = header[9:12]
            start = header.lower().find(b"content-length:")
            length = int(header[start + 15:header.index(b"\r\n", start)]) if start >= 0 else 0
            answer = await reader.readexactly(length)
            now = time.monotonic()
            if status == b"201":
                result.vote_ids.append(json.loads(answer)["vote"])
                result.vote_participants.append(index)
                result.vote_statements.append(statement)
                result.vote_values.append(value)
                result.acked_at.append(now)
                result.latency.append(now - sent)
            else:
                key = status.decode()
                result.errors[key] = result.errors.get(key, 0) + 1
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        name = type(exc).__name__
        result.errors[name] = result.errors.get(name, 0) + 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass(frozen=True)
class Plan:
    """One client process's share of the load."""

    port: int
    connections: int
    statements: int
    start_at: float
    stop_at: float


async def _client_main(client: int, plan: Plan) -> ClientResult:
    result = ClientResult()
    people = _Participants(client, plan.statements, random.Random(client), result)
    path = f"/api/v1/conversations/{SLUG}/votes".encode()
    await asyncio.sleep(max(0.0, plan.start_at - time.monotonic()))
    await asyncio.gather(*(_connection(plan.port, path, people, plan.stop_at, result)
                           for _ in range(plan.connections)))
    return result


def client_process(client: int, plan: Plan,
                   out: multiprocessing.queues.Queue[ClientResult]) -> None:
    import uvloop

    started = time.process_time()
    result = uvloop.run(_client_main(client, plan))
    result.cpu_seconds = time.process_time() - started
    out.put(result)


# Analysis alongside ------------------------------------------------------------------------

def analysis_available(command: list[str]) -> bool:
    help_command = [*command[:3], "--help"]
    found = subprocess.run(help_command, capture_output=True, check=False)
    return found.returncode == 0


def analysis_loop(command: list[str], url: str, stop_at: float) -> tuple[int, int, float]:
    """Run the analysis again and again until ``stop_at``: (runs, failures, seconds)."""
    env = {**os.environ, "MISSIONBOARD_DATABASE_URL": url}
    runs = failures = 0
    busy = 0.0
    while time.monotonic() < stop_at:
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        busy += time.monotonic() - started
        runs += 1
        if done.returncode != 0:
            failures += 1
            if failures == 1:
                print(f"  analysis failed: {done.stderr.decode()[-500:]}", flush=True)
    return runs, failures, busy


# Checking ----------------------------------------------------------------------------------

def analysis_runs(url: str, since: float) -> tuple[int, float, int]:
    """Analysis runs that finished since ``since`` seconds ago: (runs, mean seconds, the
    last one's votes)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(
            "select count(*), coalesce(avg(seconds), 0), coalesce(max(n_votes), 0) "
            "from analysis_runs where finished_at >= now() - make_interval(secs => :since)"),
            {"since": since}).one()
    engine.dispose()
    return int(row[0]), float(row[1]), int(row[2])


@dataclass(frozen=True)
class Check:
    rows: int
    acked: int
    same_ids: bool
    duplicate_pairs: int
    wrong_values: int
    #: Transactions that wrote votes (each row's ``xmin``): the writer's batches.
    batches: int


def check(url: str, results: list[ClientResult]) -> Check:
    from sqlalchemy import create_engine, text

    sent: dict[int, tuple[str, int, int]] = {}
    for r in results:
        for vote_id, participant, statement, value in zip(
                r.vote_ids, r.vote_participants, r.vote_statements, r.vote_values,
                strict=True):
            sent[vote_id] = (r.participants[participant], statement, value)
    keys = {hashlib.sha256(pid.encode()).hexdigest(): pid
            for r in results for pid in r.participants}
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "select v.id, p.browser_key, s.number, v.value from deliberation_votes v "
            "join deliberation_participants p on p.id = v.participant_id "
            "join deliberation_statements s on s.id = v.statement_id")).all()
        batches = int(conn.execute(text(
            "select count(distinct xmin::text) from deliberation_votes")).scalar_one())
        duplicate_pairs = int(conn.execute(text(
            "select count(*) from (select participant_id, statement_id "
            "from deliberation_votes group by 1, 2 having count(*) > 1) d")).scalar_one())
    engine.dispose()
    wrong = sum(1 for vote_id, key, number, value in rows
                if sent.get(vote_id) != (keys.get(key), number, value))
    return Check(rows=len(rows), acked=sum(len(r.vote_ids) for r in results),
                 same_ids={r[0] for r in rows} == set(sent), duplicate_pairs=duplicate_pairs,
                 wrong_values=wrong, batches=batches)


# Reporting ---------------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _cpu_seconds(pids: set[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _tree(root: int) -> set[int]:
    """The process and its descendants (the uvicorn workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _postgres_pids(url: str) -> set[int]:
    """The PostgreSQL backends serving the benchmark's database (not other people's)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        pids = set(conn.execute(text(
            "select pid from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid()")).scalars())
    engine.dispose()
    return pids


def main() -> None:  # noqa: PLR0915 - one linear script: set up, load, report, check
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=256,
                        help="keep-alive connections in all (split between the clients)")
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--statements", type=int, default=200)
    parser.add_argument("--with-analysis", action="store_true",
                        help="recompute the analysis in a loop while the load runs")
    parser.add_argument("--analysis-command",
                        default=f"{VENV_BIN / 'missionboard'} deliberation recompute {SLUG}",
                        help="the analysis command (the database comes from "
                             "MISSIONBOARD_DATABASE_URL)")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    url = fresh_postgres()
    from missionboard.db import migrate

    migrate.upgrade(url=url)
    version = seed(url, args.statements)
    analysis = shlex.split(args.analysis_command) if args.with_analysis else []
    if analysis and not analysis_available(analysis):
        print(f"--with-analysis: `{' '.join(analysis[:3])}` does not exist here; "
              "running without the analysis")
        analysis = []
    print(f"PostgreSQL {version}; conversation of {args.statements} statements; "
          f"uvicorn, {args.workers} worker(s), uvloop + httptools; {args.clients} client "
          f"process(es), {args.connections} keep-alive connections; warm-up "
          f"{args.warmup:g} s, measured {args.duration:g} s"
          + ("; analysis recomputed in a loop alongside" if analysis else ""))

    port = free_port()
    server = start_server(url, port, args.workers)
    start_at = time.monotonic() + 1.0
    measure_from = start_at + args.warmup
    stop_at = measure_from + args.duration
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.queues.Queue[ClientResult] = context.Queue()
    shares = [args.connections // args.clients + (i < args.connections % args.clients)
              for i in range(args.clients)]
    clients = [context.Process(target=client_process, args=(
        i, Plan(port=port, connections=shares[i], statements=args.statements,
                start_at=start_at, stop_at=stop_at), queue))
        for i in range(args.clients)]
    try:
        for process in clients:
            process.start()
        analysed: tuple[int, int, float] | None = None
        time.sleep(max(0.0, measure_from - time.monotonic()))
        server_pids, postgres = _tree(server.pid), _postgres_pids(url)
        cpu_before = (_cpu_seconds(server_pids), _cpu_seconds(postgres))
        if analysis:
            analysed = analysis_loop(analysis, url, stop_at)
        time.sleep(max(0.0, stop_at - time.monotonic()))
        cpu_after = (_cpu_seconds(server_pids), _cpu_seconds(postgres))
        results = [queue.get(timeout=args.duration + args.warmup + 120) for _ in clients]
        for process in clients:
            process.join()
        runs = analysis_runs(url, time.monotonic() - measure_from)
    finally:
        for process in clients:
            if process.is_alive():
                process.terminate()
        stop(server)

    acked = [t for r in results for t in r.acked_at]
    in_window = [t for t in acked if measure_from <= t < stop_at]
    latencies = [lat for r in results for t, lat in zip(r.acked_at, r.latency, strict=True)
                 if measure_from <= t < stop_at]
    rate = len(in_window) / args.duration
    windows = [0] * int(-(-args.duration // WINDOW))
    for t in in_window:
        windows[int((t - measure_from) // WINDOW)] += 1
    errors: dict[str, int] = {}
    for r in results:
        for key, count in r.errors.items():
            errors[key] = errors.get(key, 0) + count
    seconds = [min(WINDOW, args.duration - WINDOW * i) for i in range(len(windows))]
    print(f"acknowledged votes: {len(acked):,} in all, {len(in_window):,} in the measured "
          f"{args.duration:g} s")
    print("votes/s per 10 s: " + ", ".join(f"{n / s:,.0f}" for n, s in
                                            zip(windows, seconds, strict=True)))
    print(f"sustained: {rate:,.0f} votes/s (lowest 10 s window "
          f"{min(n / s for n, s in zip(windows, seconds, strict=True)):,.0f})")
    print(f"latency: p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, "
          f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, "
          f"max {max(latencies, default=float('nan')) * 1000:.1f} ms")
    print(f"errors: {sum(errors.values())}" + (f" {errors}" if errors else ""))
    print(f"participants: {sum(len(r.participants) for r in results):,}")
    server_cpu, postgres_cpu = (after - before for after, before in
                                zip(cpu_after, cpu_before, strict=True))
    client_cpu = sum(r.cpu_seconds for r in results)
    print(f"CPU in the measured window: server {server_cpu / args.duration:.2f} cores, "
          f"PostgreSQL (this database's backends) {postgres_cpu / args.duration:.2f} cores; "
          f"clients "
          f"{client_cpu / (stop_at - start_at):.2f} cores (whole run)")
    print(f"analysis runs finished in the measured window: {runs[0]} ({runs[1]:.2f} s each "
          f"on average; the last one on {runs[2]:,} votes)")
    if analysed is not None:
        count, failures, busy = analysed
        print(f"`{' '.join(analysis[1:])}` alongside: {count} runs ({failures} failed), "
              f"{busy / max(count, 1):.1f} s each")

    result = check(url, results)
    print(f"database: {result.rows:,} rows for {result.acked:,} acknowledged votes; same ids: "
          f"{result.same_ids}; (participant, statement) pairs stored twice: "
          f"{result.duplicate_pairs}; stored values differing from those sent: "
          f"{result.wrong_values}")
    print(f"batches: {result.batches:,} transactions, {result.rows / max(result.batches, 1):,.0f} "
          "votes each on average")
    fast = rate >= TARGET
    exact = (result.rows == result.acked and result.same_ids and not result.duplicate_pairs
             and not result.wrong_values)
    print(f"{'PASS' if fast else 'FAIL'}: sustained {rate:,.0f} votes/s "
          f"{'>=' if fast else '<'} {TARGET:,}")
    print(f"{'PASS' if exact else 'FAIL'}: every acknowledged vote stored once, as sent")
    if not (fast and exact):
        sys.exit(1)


if __name__ == "__main__":
    main()
