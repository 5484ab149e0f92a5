"""graphintel.neo4j_server: a real Neo4j 5.26 Community server started from Maven jars.

The server tests start one genuine JVM for the whole module (``neo4j_home`` fixture) in a temporary
home on a free port, talk to it with the official driver, and stop it. The jar cache is the real
one (``~/.cache/graphintel`` or ``GRAPHINTEL_CACHE``), so only the first run downloads.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import neo4j
import pytest

from graphintel import neo4j_server as ns
from graphintel.config import load_settings
from graphintel.errors import ConfigError, Neo4jSetupError

REPO = Path(__file__).resolve().parents[1]


def _listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket that process ``pid`` listens on, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            host_hex, port_hex = local.split(":")
            raw = b"".join(
                bytes.fromhex(host_hex[i : i + 8])[::-1] for i in range(0, len(host_hex), 8)
            )
            addr = ipaddress.ip_address(raw)
            if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
                addr = addr.ipv4_mapped
            found.add((str(addr), int(port_hex, 16)))
    return found


def _running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (an exited process its parent has not reaped)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.fixture(scope="module")
def settings():
    return load_settings()


@pytest.fixture(scope="module")
def neo4j_home(settings, tmp_path_factory):
    """One real server for the module: (home, info). Stopped at the end whatever happened."""
    home = tmp_path_factory.mktemp("neo4j") / "home"
    info = ns.start(settings, home=home, port=ns.free_local_port())
    yield home, info
    ns.stop(settings, home=home)


# ---------------------------------------------------------------------------------------------
# Unit tests: no JVM


def test_pom_constant_matches_tools_pom():
    assert (REPO / "tools" / "neo4j" / "pom.xml").read_text(encoding="utf-8") == ns.POM_XML


def test_shell_exports_round_trip_through_bash():
    nasty = "pa ss'\"$(touch /nonexistent)`x`;\\\n"
    info = ns.ServerInfo("bolt://127.0.0.1:7999", "neo4j", nasty, Path("/h"), 1, 7999)
    text = ns.shell_exports(info)
    assert text.splitlines()[0] == "export NEO4J_URI=bolt://127.0.0.1:7999"
    script = text + '\nprintf "%s|%s|%s" "$NEO4J_URI" "$NEO4J_USERNAME" "$NEO4J_PASSWORD"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == f"bolt://127.0.0.1:7999|neo4j|{nasty}"
    assert nasty not in repr(info)  # password hidden


def test_java_home_pointing_nowhere_names_what_to_install(tmp_path):
    settings = dataclasses.replace(
        load_settings(), java_home=str(tmp_path / "no-jdk"), cache_dir=tmp_path / "cache"
    )
    with pytest.raises(Neo4jSetupError, match="openjdk-17-jre-headless maven") as err:
        ns.ensure_jars(settings, quiet=True)
    assert str(tmp_path / "no-jdk") in str(err.value)
    with pytest.raises(Neo4jSetupError, match="openjdk-17-jre-headless"):
        ns.find_java(settings)


def test_java_25_is_refused():
    temurin = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
    if not (temurin / "bin" / "java").exists():
        pytest.skip("no Temurin 25 on this machine")
    settings = dataclasses.replace(load_settings(), java_home=str(temurin))
    with pytest.raises(Neo4jSetupError, match="needs Java 17 or 21, but .* is Java 25"):
        ns.find_java(settings)


def test_missing_maven_on_fake_path(tmp_path, monkeypatch):
    java_home = ns.find_java(load_settings()).resolve().parent.parent
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    settings = dataclasses.replace(
        load_settings(), java_home=str(java_home), cache_dir=tmp_path / "cache"
    )
    with pytest.raises(Neo4jSetupError, match=r"Maven \(`mvn`\) is not on PATH.*maven"):
        ns.ensure_jars(settings, quiet=True)


def test_bad_options_are_config_errors(tmp_path):
    settings = dataclasses.replace(load_settings(), cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="not a memory size"):
        ns.start(settings, home=tmp_path / "h", heap="1 g; rm -rf /")
    with pytest.raises(ConfigError, match="out of range"):
        ns.start(settings, home=tmp_path / "h", port=70000)
    with pytest.raises(ConfigError, match="':'"):
        ns.start(settings, home=tmp_path / "a:b")
    bad_version = dataclasses.replace(settings, neo4j_version="5.26.31 -Dx=y")
    with pytest.raises(ConfigError, match="X.Y.Z"):
        ns.ensure_jars(bad_version)


def test_status_and_stop_of_a_home_never_started(tmp_path):
    settings = load_settings()
    assert ns.status(settings, home=tmp_path / "nothing") is None
    assert ns.stop(settings, home=tmp_path / "nothing") is False
    assert not (tmp_path / "nothing").exists()


def test_port_taken_by_another_program(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(Neo4jSetupError, match=f"Port {port} on 127.0.0.1 is already in use"):
            ns.start(load_settings(), home=tmp_path / "h", port=port)


# ---------------------------------------------------------------------------------------------
# Real server


@pytest.mark.neo4j
def test_jars_are_cached_with_the_server_modules(settings):
    lib = ns.ensure_jars(settings, quiet=True)
    names = {p.name for p in lib.glob("*.jar")}
    version = settings.neo4j_version
    for module in (
        "neo4j",
        "neo4j-bolt",
        "neo4j-cypher",
        "neo4j-server",
        "neo4j-security",
        "neo4j-command-line",
        "neo4j-import-tool",
    ):
        assert f"{module}-{version}.jar" in names
    marker = json.loads((lib.parent / "lib.complete.json").read_text())
    assert marker["jars"] == len(names) > 150


@pytest.mark.neo4j
def test_query_with_the_printed_credentials(neo4j_home):
    _, info = neo4j_home
    assert info.uri == f"bolt://127.0.0.1:{info.port}"
    assert info.username == "neo4j" and len(info.password) >= 8
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in ns.shell_exports(info).splitlines()
    )
    auth = (exports["NEO4J_USERNAME"], exports["NEO4J_PASSWORD"])
    with neo4j.GraphDatabase.driver(exports["NEO4J_URI"], auth=auth) as driver:
        driver.execute_query("CREATE (:Probe {name: $name, n: $n})", name="Fictional Room 7", n=41)
        records, _, _ = driver.execute_query(
            "MATCH (p:Probe {name: $name}) RETURN p.n + 1 AS answer", name="Fictional Room 7"
        )
    assert [r["answer"] for r in records] == [42]
    wrong = neo4j.GraphDatabase.driver(info.uri, auth=("neo4j", "wrong-password"))
    with wrong, pytest.raises(neo4j.exceptions.AuthError):
        wrong.verify_connectivity()


def test_memory_sizes_follow_the_machine_and_the_flags():
    gib = 2**30
    assert ns.memory_sizes(64 * gib) == ns.MemorySizes("8g", "8g", "6g")
    assert ns.memory_sizes(2 * gib) == ns.MemorySizes("1g", "512m", "768m")
    assert ns.memory_sizes(23 * gib + 500 * 2**20) == ns.MemorySizes("2816m", "2816m", "2112m")
    assert ns.memory_sizes(8 * gib, heap="4g") == ns.MemorySizes("4g", "1g", "3g")
    assert ns.memory_sizes(8 * gib, tx_memory="900m").tx_memory == "900m"
    assert ns.machine_memory() > 0
    with pytest.raises(ConfigError, match="Transaction memory size"):
        ns.memory_sizes(8 * gib, tx_memory="lots")


@pytest.mark.neo4j
def test_server_memory_is_sized_from_the_machine(neo4j_home):
    home, info = neo4j_home
    sizes = ns.memory_sizes(ns.machine_memory())
    conf = (home / "conf" / "neo4j.conf").read_text(encoding="utf-8")
    assert f"dbms.memory.transaction.total.max={sizes.tx_memory}" in conf
    assert f"-Xmx{sizes.heap}" in Path(f"/proc/{info.pid}/cmdline").read_text().split("\0")
    with neo4j.GraphDatabase.driver(info.uri, auth=(info.username, info.password)) as driver:
        records, _, _ = driver.execute_query(
            "SHOW SETTINGS YIELD name, value WHERE name = $name RETURN value",
            name="dbms.memory.transaction.total.max",
        )
    value = records[0]["value"]  # e.g. '768.00MiB' or '2.06GiB'
    unit = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[value[-3:]]
    assert float(value[:-3]) * unit == pytest.approx(ns._size_bytes(sizes.tx_memory), rel=0.01)


@pytest.mark.neo4j
def test_status_and_idempotent_start(settings, neo4j_home):
    home, info = neo4j_home
    assert ns.status(settings, home=home) == info
    assert ns.start(settings, home=home, port=ns.free_local_port()) == info  # running: same server
    state_file = home / ns.STATE_FILE
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    state = json.loads(state_file.read_text())
    assert state["pid"] == info.pid and state["password"] == info.password


@pytest.mark.neo4j
def test_listens_on_loopback_bolt_only(neo4j_home):
    home, info = neo4j_home
    assert _listening(info.pid) == {("127.0.0.1", info.port)}  # no http 7474, no routing 7688
    conf = (home / "conf" / "neo4j.conf").read_text()
    assert "server.http.enabled=false" in conf and "dbms.routing.enabled=false" in conf
    assert f"server.directories.data={home / 'data'}" in conf
    assert "Started." in (home / "logs" / "console.log").read_text()


_CLI_START = """
import sys
from pathlib import Path
from graphintel import neo4j_server as ns
from graphintel.config import load_settings
info = ns.start(load_settings(), home=Path(sys.argv[1]), port=int(sys.argv[2]))
print(ns.shell_exports(info))
"""


@pytest.mark.neo4j
def test_stop_then_restart_from_another_process(settings, neo4j_home):
    """Like `eval "$(graphintel neo4j start)"`: the server outlives the process that started it,
    keeps its data and password, and another process can stop it."""
    home, info = neo4j_home
    assert ns.stop(settings, home=home) is True
    assert ns.status(settings, home=home) is None
    assert not _running(info.pid)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", info.port), timeout=2).close()
    assert ns.stop(settings, home=home) is False

    script = _CLI_START
    out = subprocess.run(
        [sys.executable, "-c", script, str(home), str(info.port)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    shell = subprocess.run(
        ["bash", "-c", out.stdout + '\nprintf "%s\\n%s" "$NEO4J_URI" "$NEO4J_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    )
    uri, password = shell.stdout.split("\n")
    again = ns.status(settings, home=home)  # the starting process has exited
    try:
        assert again is not None and again.pid != info.pid
        assert (uri, password) == (info.uri, info.password)
        with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password)) as driver:
            records, _, _ = driver.execute_query("MATCH (p:Probe) RETURN count(p) AS n")
        assert records[0]["n"] == 1
    finally:
        assert ns.stop(settings, home=home) is True  # not our child: /proc identity path
    assert not _running(again.pid)


@pytest.mark.neo4j
def test_server_that_does_not_answer_in_time_is_stopped(settings, tmp_path):
    home = tmp_path / "home"
    with pytest.raises(
        Neo4jSetupError, match="(?s)did not answer on .* within 0.5 s .*; it was stopped"
    ):
        ns.start(settings, home=home, port=ns.free_local_port(), timeout=0.5)
    state = json.loads((home / ns.STATE_FILE).read_text())
    assert ns.status(settings, home=home) is None
    assert not _running(state["pid"])


@pytest.mark.neo4j
def test_server_that_dies_at_startup_is_reported_with_its_log(settings, tmp_path):
    home = tmp_path / "home"
    with pytest.raises(Neo4jSetupError, match="exited during startup") as err:
        ns.start(settings, home=home, port=ns.free_local_port(), pagecache="400g", timeout=120)
    assert "Last lines of" in str(err.value) and "console.log" in str(err.value)
    assert ns.status(settings, home=home) is None
