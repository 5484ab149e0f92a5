"""A real local Neo4j 5.26 Community server, fetched from Maven Central and run from its jars.

``graphintel neo4j start|stop|status`` is built on this module (the CLI only parses options and
prints). The server is the genuine Neo4j Community DBMS: :func:`ensure_jars` lets Maven copy the
runtime dependencies of ``org.neo4j:neo4j`` into a cache, :func:`start` writes a ``neo4j.conf``
that listens on ``127.0.0.1`` only (Bolt only), sets a generated password before the first start
and launches ``org.neo4j.server.CommunityEntryPoint`` in its own session, so the server outlives
the command that started it.

Layout of a *home* (default ``<cache_dir>/neo4j-home``)::

    conf/neo4j.conf              written on every start
    data/ logs/ run/ plugins/ import/
    logs/console.log             the server's stdout and stderr
    graphintel-neo4j.json        password, port, pid (mode 0600)

Notes
-----
Linux/Unix only (``posix_spawn``, ``/proc``). The server is one JVM (no bootloader JVM); heap is
passed as ``-Xms``/``-Xmx`` because ``server.memory.heap.*`` in neo4j.conf is only read by the
bootloader. See ``docs/neo4j.md`` for what was measured and why each setting is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from graphintel.config import Settings
from graphintel.errors import ConfigError, Neo4jSetupError

__all__ = [
    "ENTRY_CLASS",
    "POM_XML",
    "STATE_FILE",
    "MemorySizes",
    "ServerInfo",
    "default_home",
    "ensure_jars",
    "find_java",
    "launch_settings",
    "machine_memory",
    "memory_sizes",
    "resolve_home",
    "run_admin",
    "shell_exports",
    "start",
    "status",
    "stop",
]

#: The Maven project that resolves the server's jars (the same text as ``tools/neo4j/pom.xml``).
#: It is written into the cache directory, so nothing depends on where the repository lives.
POM_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Resolves the jars of a Neo4j Community server from Maven Central; builds nothing.
     graphintel/neo4j_server.py carries the same text (POM_XML) and writes it into its cache dir,
     so keep the two identical (tests/test_neo4j_server.py checks it).
     Use: mvn -f pom.xml -Dneo4j.version=5.26.31 dependency:copy-dependencies
              -DincludeScope=runtime -DoutputDirectory=lib -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.graphintel</groupId>
  <artifactId>neo4j-server-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>

  <properties>
    <neo4j.version>5.26.31</neo4j.version>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>

  <dependencies>
    <dependency>
      <groupId>org.neo4j</groupId>
      <artifactId>neo4j</artifactId>
      <version>${neo4j.version}</version>
    </dependency>
  </dependencies>

  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.6.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
"""

#: Main class of the 5.x Community server (2025.x renamed it ``org.neo4j.server.Neo4jCommunity``).
ENTRY_CLASS = "org.neo4j.server.CommunityEntryPoint"
#: Admin CLI main class (runs ``dbms set-initial-password`` in-process, no second JVM).
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
#: Name of the state file inside a home.
STATE_FILE = "graphintel-neo4j.json"

_INSTALL_HINT = "install them with `apt-get install openjdk-17-jre-headless maven`"
_SUPPORTED_JAVA = (17, 21)
_JVM_DIRS = ("/usr/lib/jvm",)
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_MEMORY_RE = re.compile(r"^[1-9]\d*[kKmMgG]?$")
_LIB_MARKER = "lib.complete.json"
_USERNAME = "neo4j"

# JVM flags of the shipped 5.x neo4j.conf (server.jvm.additional) that matter when the entry point
# is launched directly (the bootloader would otherwise add them). -XX:+AlwaysPreTouch is left out:
# it touches the whole heap at startup, which is slow on a small shared box.
_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
)


@dataclass(frozen=True)
class ServerInfo:
    """How to reach a running local server (the password is hidden in ``repr``)."""

    uri: str
    username: str
    password: str = field(repr=False)
    home: Path
    pid: int
    port: int


# --------------------------------------------------------------------------------------------
# Java and Maven


def _java_feature_version(java: Path) -> int:
    """Feature version (17, 21, ...) reported by ``java -version``."""
    try:
        proc = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as err:
        raise Neo4jSetupError(
            f"Cannot run Java at {java}: {err}. Neo4j 5.26 needs Java 17 or 21; {_INSTALL_HINT}."
        ) from err
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if match is None:
        raise Neo4jSetupError(
            f"Cannot tell the version of Java at {java} (`java -version` printed "
            f"{(proc.stderr or proc.stdout).strip()[:200]!r}). Neo4j 5.26 needs Java 17 or 21; "
            f"{_INSTALL_HINT}."
        )
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def _java_in(java_home: Path) -> Path:
    return java_home / "bin" / "java"


def find_java(settings: Settings) -> Path:
    """Locate a Java 17 (or 21) runtime for Neo4j 5.26.

    Parameters
    ----------
    settings : Settings
        ``settings.java_home`` (env ``JAVA_HOME``), when set, is the only candidate.

    Returns
    -------
    Path
        The ``java`` executable (not resolved through symlinks).

    Raises
    ------
    Neo4jSetupError
        No Java found, or the one found is not 17 or 21.

    Notes
    -----
    Without ``java_home`` the search is: OpenJDK 17 then 21 under ``/usr/lib/jvm``, then ``java``
    on ``PATH``. Java 17 is preferred because 5.26 is the last Neo4j line that supports it and the
    one this project tests with; newer JDKs (e.g. 25) are refused.
    """
    if settings.java_home:
        java = _java_in(Path(settings.java_home))
        if not java.is_file():
            raise Neo4jSetupError(
                f"JAVA_HOME is {settings.java_home!r} but {java} does not exist. Point JAVA_HOME "
                f"at a Java 17 installation (or unset it), or {_INSTALL_HINT}."
            )
        candidates = [java]
    else:
        candidates = []
        for version in _SUPPORTED_JAVA:
            for root in _JVM_DIRS:
                candidates += sorted(Path(root).glob(f"java-{version}-openjdk*/bin/java"))
        on_path = shutil.which("java")
        if on_path:
            candidates.append(Path(on_path))
        if not candidates:
            raise Neo4jSetupError(
                f"No Java runtime found (JAVA_HOME unset, none under /usr/lib/jvm, no `java` on "
                f"PATH). Neo4j 5.26 needs Java 17 or 21; {_INSTALL_HINT}."
            )
    seen: list[str] = []
    for java in candidates:
        version = _java_feature_version(java)
        if version in _SUPPORTED_JAVA:
            return java
        seen.append(f"{java} is Java {version}")
    raise Neo4jSetupError(
        f"Neo4j 5.26 needs Java 17 or 21, but {'; '.join(seen)}. Set JAVA_HOME to a Java 17 "
        f"installation, or {_INSTALL_HINT}."
    )


def _java_home_of(java: Path) -> Path:
    return java.resolve().parent.parent


def _find_mvn() -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jSetupError(
            "Maven (`mvn`) is not on PATH; it is needed once to fetch the Neo4j server jars from "
            f"Maven Central: {_INSTALL_HINT}."
        )
    return Path(mvn)


# --------------------------------------------------------------------------------------------
# Paths, validation, locking


def _check_version(version: str) -> str:
    if not _VERSION_RE.match(version):
        raise ConfigError(
            f"Neo4j version {version!r} is not of the form X.Y.Z; set GRAPHINTEL_NEO4J_VERSION to "
            "a 5.26 patch release on Maven Central, e.g. 5.26.31."
        )
    return version


def _check_path(path: Path, what: str) -> Path:
    text = str(path)
    if ":" in text or any(ord(ch) < 32 for ch in text):
        raise ConfigError(
            f"The {what} path {text!r} contains ':' or a control character, which cannot go into "
            "a Java class path or neo4j.conf; choose another directory."
        )
    return path


def _check_memory(value: str, what: str) -> str:
    if not _MEMORY_RE.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a memory size; use a number with an optional unit k, m or g, "
            "e.g. 1g or 512m."
        )
    return value


def default_home(settings: Settings) -> Path:
    """Home of the default local server: ``<settings.cache_dir>/neo4j-home``."""
    return Path(settings.cache_dir) / "neo4j-home"


def resolve_home(settings: Settings, home: Path | None = None) -> Path:
    """The absolute server home for ``home`` (default :func:`default_home`), checked usable.

    Raises
    ------
    ConfigError
        The path cannot be a server home (see ``_check_path``).
    """
    path = Path(home) if home is not None else default_home(settings)
    return _check_path(path.expanduser().absolute(), "Neo4j home")


_home = resolve_home


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``directory/.lock`` (serialises concurrent CLI calls)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# Jars


def _lib_dir(settings: Settings) -> Path:
    version = _check_version(settings.neo4j_version)
    return Path(settings.cache_dir).expanduser().absolute() / f"neo4j-{version}" / "lib"


def _lib_complete(lib: Path) -> bool:
    marker = lib.parent / _LIB_MARKER
    version = lib.parent.name.removeprefix("neo4j-")
    return marker.is_file() and (lib / f"neo4j-{version}.jar").is_file()


def ensure_jars(settings: Settings, *, quiet: bool = False) -> Path:
    """Fetch the Neo4j Community server jars with Maven, once.

    Parameters
    ----------
    settings : Settings
        ``neo4j_version`` picks the release (default 5.26.31), ``cache_dir`` the cache.
    quiet : bool, default False
        Hide Maven's output (shown on failure). When not quiet, Maven's output goes to stderr so
        that stdout stays free for :func:`shell_exports`.

    Returns
    -------
    Path
        ``<cache_dir>/neo4j-<version>/lib``, holding every runtime jar of ``org.neo4j:neo4j``.

    Raises
    ------
    Neo4jSetupError
        Java or Maven is missing, or Maven failed (offline, unknown version).
    ConfigError
        The version string or cache path is unusable.

    Notes
    -----
    Runs ``mvn dependency:copy-dependencies -DincludeScope=runtime`` on :data:`POM_XML` written
    into the cache, into a temporary folder that is renamed into place, then writes a marker file;
    later calls return at once. About 213 jars / 123 MB for 5.26.31; Maven also keeps a copy in
    ``~/.m2``. Concurrent calls are serialised with a file lock.
    """
    lib = _check_path(_lib_dir(settings), "cache")
    if _lib_complete(lib):
        return lib
    base = lib.parent
    with _locked(base):
        if _lib_complete(lib):
            return lib
        java_home = _java_home_of(find_java(settings))
        mvn = _find_mvn()
        pom = base / "pom.xml"
        pom.write_text(POM_XML, encoding="utf-8")
        staging = base / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            str(mvn),
            "-B",
            "-f",
            str(pom),
            f"-Dneo4j.version={settings.neo4j_version}",
            "-Dstyle.color=never",
            "dependency:copy-dependencies",
            "-Dsilent=true",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        if quiet:
            cmd.insert(2, "-q")
        env = {**os.environ, "JAVA_HOME": str(java_home)}
        started = time.monotonic()
        try:
            proc = subprocess.run(
                cmd,
                cwd=base,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if quiet else 2,  # fd 2: stdout stays for shell_exports
                stderr=subprocess.STDOUT if quiet else 2,
                text=True,
                check=False,
            )
        except OSError as err:
            raise Neo4jSetupError(f"Cannot run Maven at {mvn}: {err}; {_INSTALL_HINT}.") from err
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout or "").strip().splitlines()[-15:])
            raise Neo4jSetupError(
                f"Maven could not fetch org.neo4j:neo4j:{settings.neo4j_version} (exit status "
                f"{proc.returncode}). Check that Maven Central is reachable and that the version "
                f"exists (GRAPHINTEL_NEO4J_VERSION). Maven said:\n{tail}"
            )
        if not (staging / f"neo4j-{settings.neo4j_version}.jar").is_file():
            raise Neo4jSetupError(
                f"Maven finished but {staging} lacks neo4j-{settings.neo4j_version}.jar; delete "
                f"{base} and try again."
            )
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        jars = sorted(p.name for p in lib.glob("*.jar"))
        marker = {
            "version": settings.neo4j_version,
            "jars": len(jars),
            "bytes": sum((lib / name).stat().st_size for name in jars),
            "seconds": round(time.monotonic() - started, 1),
        }
        (base / _LIB_MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    return lib


# --------------------------------------------------------------------------------------------
# State file and process checks


def _read_state(home: Path) -> dict:
    path = home / STATE_FILE
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise Neo4jSetupError(
            f"{path} is unreadable ({err}); delete it only if you also delete the database in "
            f"{home / 'data'} (its password is stored there)."
        ) from err
    return state if isinstance(state, dict) else {}


def _write_state(home: Path, state: dict) -> None:
    path = home / STATE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _describe(code: int) -> str:
    if os.WIFSIGNALED(code):
        return f"killed by signal {os.WTERMSIG(code)}"
    return f"exit status {os.waitstatus_to_exitcode(code)}"


def _reap(pid: int) -> bool:
    """Collect ``pid`` if it is an exited child of this process; True if it has exited."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def _gone(pid: int, home: Path) -> str | None:
    """Why the server ``pid`` is gone ("exit status 3"), or None while it runs.

    For our own child, ``waitpid`` decides (between ``posix_spawn`` and ``exec`` its ``/proc``
    command line is not yet Java's); for any other process, the ``/proc`` identity check does.
    """
    try:
        done, code = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if _is_our_server(pid, home) else "not running"
    return _describe(code) if done == pid else None


def _is_our_server(pid: int, home: Path) -> bool:
    """True if ``pid`` is alive and is the Neo4j server of ``home`` (guards against pid reuse)."""
    if pid <= 0 or _reap(pid):
        return False
    if not Path("/proc/self").exists():  # no procfs: a signal probe is the best we can do
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    args = raw.decode("utf-8", "replace").split("\0")
    return ENTRY_CLASS in args and f"--home-dir={home}" in args


def _info(home: Path, state: dict) -> ServerInfo:
    port = int(state["port"])
    return ServerInfo(
        uri=f"bolt://127.0.0.1:{port}",
        username=_USERNAME,
        password=str(state["password"]),
        home=home,
        pid=int(state["pid"]),
        port=port,
    )


def status(settings: Settings, *, home: Path | None = None) -> ServerInfo | None:
    """Info of the server running for ``home``, or None if none is running.

    Parameters
    ----------
    settings : Settings
        Gives the default home (``<cache_dir>/neo4j-home``).
    home : Path, optional
        The server's home directory.

    Returns
    -------
    ServerInfo or None

    Notes
    -----
    Checks the recorded pid is alive and really is this home's Neo4j process (its command line,
    from ``/proc``); it does not open a Bolt connection.
    """
    path = _home(settings, home)
    state = _read_state(path)
    pid = state.get("pid")
    if not isinstance(pid, int) or "port" not in state or "password" not in state:
        return None
    if not _is_our_server(pid, path):
        return None
    return _info(path, state)


def launch_settings(settings: Settings, *, home: Path | None = None) -> dict[str, object]:
    """The ``port``, ``heap``, ``pagecache`` and ``tx_memory`` the server of ``home`` was last
    started with (from its state file), as keyword arguments for :func:`start`; ``{}`` for a
    home never started. A restart with them (after a bulk import) keeps its address and sizes.
    """
    state = _read_state(resolve_home(settings, home))
    names = ("port", "heap", "pagecache", "tx_memory")
    return {k: state[k] for k in names if state.get(k) is not None}


# --------------------------------------------------------------------------------------------
# Memory sizing

_MIB = 1 << 20
_GIB = 1 << 30


@dataclass(frozen=True)
class MemorySizes:
    """JVM heap, page cache and transaction memory pool of a server, as neo4j.conf sizes."""

    heap: str
    pagecache: str
    tx_memory: str


def machine_memory() -> int:
    """Physical memory of this machine in bytes (``MemTotal`` of ``/proc/meminfo``).

    The cgroup memory limit (``/sys/fs/cgroup/memory.max``) is taken instead when it is lower,
    so a container gets sizes for what it may use.
    """
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if limit.isdigit():
            total = min(total, int(limit))
    return int(total)


def _size_text(nbytes: int) -> str:
    """A neo4j.conf size rounded down to whole MiB (``g`` when it is a whole GiB)."""
    mib = max(1, nbytes // _MIB)
    return f"{mib // 1024}g" if mib % 1024 == 0 else f"{mib}m"


def _size_bytes(text: str) -> int:
    unit = {"k": 1 << 10, "m": _MIB, "g": _GIB}.get(text[-1].lower(), 1)
    return int(text.rstrip("kKmMgG")) * unit


def memory_sizes(
    total: int,
    *,
    heap: str | None = None,
    pagecache: str | None = None,
    tx_memory: str | None = None,
) -> MemorySizes:
    """Server memory sizes for a machine with ``total`` bytes of RAM; explicit values win.

    Heap and page cache each get 1/8 of the machine (heap at least 1 GiB, at most 8 GiB;
    page cache at least 512 MiB, at most 8 GiB), rounded down to 256 MiB: a development server
    that shares its machine with the analytics process and other work. The transaction memory
    pool (``dbms.memory.transaction.total.max``, the limit a big write hits as
    ``MemoryPoolOutOfMemoryError``) gets 3/4 of the heap (Neo4j's own default is 70 %).

    Raises
    ------
    ConfigError
        A size that is not a number with an optional unit k, m or g.

    Examples
    --------
    >>> memory_sizes(24 * 2**30)
    MemorySizes(heap='3g', pagecache='3g', tx_memory='2304m')
    >>> memory_sizes(4 * 2**30)
    MemorySizes(heap='1g', pagecache='512m', tx_memory='768m')
    >>> memory_sizes(24 * 2**30, heap="2g", tx_memory="1g")
    MemorySizes(heap='2g', pagecache='3g', tx_memory='1g')
    """
    step = 256 * _MIB

    def share(lo: int, hi: int) -> int:
        return max(lo, min(hi, total // 8 // step * step))

    if heap is not None:
        _check_memory(heap, "Heap size")
    if pagecache is not None:
        _check_memory(pagecache, "Page cache size")
    if tx_memory is not None:
        _check_memory(tx_memory, "Transaction memory size")
    heap_text = heap or _size_text(share(_GIB, 8 * _GIB))
    return MemorySizes(
        heap=heap_text,
        pagecache=pagecache or _size_text(share(512 * _MIB, 8 * _GIB)),
        tx_memory=tx_memory or _size_text(_size_bytes(heap_text) * 3 // 4),
    )


# --------------------------------------------------------------------------------------------
# Start


def _conf_text(home: Path, lib: Path, port: int, sizes: MemorySizes) -> str:
    lines = [
        "# Written by graphintel on every `graphintel neo4j start`; edits are overwritten.",
        "server.default_listen_address=127.0.0.1",
        "server.default_advertised_address=127.0.0.1",
        "server.bolt.enabled=true",
        f"server.bolt.listen_address=127.0.0.1:{port}",
        f"server.bolt.advertised_address=127.0.0.1:{port}",
        "server.bolt.tls_level=DISABLED",
        "server.http.enabled=false",
        "server.https.enabled=false",
        "dbms.routing.enabled=false",
        "dbms.usage_report.enabled=false",
        "dbms.security.auth_enabled=true",
        f"server.directories.data={home / 'data'}",
        f"server.directories.logs={home / 'logs'}",
        f"server.directories.run={home / 'run'}",
        f"server.directories.plugins={home / 'plugins'}",
        f"server.directories.import={home / 'import'}",
        f"server.directories.lib={lib}",
        f"server.memory.heap.initial_size={sizes.heap}",
        f"server.memory.heap.max_size={sizes.heap}",
        f"server.memory.pagecache.size={sizes.pagecache}",
        f"dbms.memory.transaction.total.max={sizes.tx_memory}",
        # A fresh database otherwise preallocates 2 x 256 MiB of transaction log on disk.
        "db.tx_log.preallocate=false",
        "db.tx_log.rotation.retention_policy=1G size",
        # Netty's graceful shutdown waits a 5 s quiet period twice; 0 makes `stop` take ~1 s.
        "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
    ]
    return "\n".join(lines) + "\n"


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it), for a server
    started next: a test's second Neo4j, a benchmark's dashboard.

    Example
    -------
    >>> 0 < free_local_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no console log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(console log is empty)"


def run_admin(
    settings: Settings,
    home: Path,
    args: list[str],
    *,
    what: str,
    heap: str | None = None,
    timeout: float | None = None,
) -> str:
    """Run ``neo4j-admin ARGS`` (``org.neo4j.cli.AdminTool`` from the server's jars) for ``home``.

    Parameters
    ----------
    settings : Settings
        Java, Neo4j version and cache directory.
    home : Path
        The server home (``NEO4J_HOME``; ``NEO4J_CONF`` is its ``conf``).
    args : list of str
        The command and its options, e.g. ``["dbms", "set-initial-password", "@file"]``.
    what : str
        What the command does, for the error message ("database import").
    heap : str, optional
        The tool's JVM heap (``-Xmx``); default the JVM's.
    timeout : float, optional
        Seconds before the tool is killed; default none.

    Returns
    -------
    str
        What the tool printed on stdout.

    Raises
    ------
    Neo4jSetupError
        The tool failed or timed out (the message quotes the end of what it said).
    """
    lib = ensure_jars(settings, quiet=True)
    java = find_java(settings)
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    argv = [str(java), *([f"-Xmx{heap}"] if heap else []), "-cp", f"{lib}/*", ADMIN_CLASS, *args]
    try:
        proc = subprocess.run(
            argv, cwd=home, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as err:
        raise Neo4jSetupError(
            f"neo4j-admin {what} did not finish within {timeout:g} s for {home}"
        ) from err
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()[-2000:]
        raise Neo4jSetupError(
            f"neo4j-admin {what} failed for {home} (exit status {proc.returncode}): {said}"
        )
    return proc.stdout


def _set_initial_password(settings: Settings, home: Path, password: str) -> None:
    """``neo4j-admin dbms set-initial-password``, with the password in a 0600 argument file.

    picocli expands ``@file`` arguments, so the password never appears in ``ps``.
    """
    argfile = home / "run" / "initial-password.args"
    fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    try:
        run_admin(
            settings, home, ["dbms", "set-initial-password", f"@{argfile}"],
            what="dbms set-initial-password", timeout=300,
        )  # fmt: skip
    finally:
        argfile.unlink(missing_ok=True)


def _spawn(argv: list[str], log: Path) -> int:
    """Start ``argv`` in a new session, stdout/stderr appended to ``log``; return its pid."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=actions, setsid=True)


def _terminate(pid: int, home: Path, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid, home) is not None:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _gone(pid, home) is None:
        time.sleep(0.1)


def _wait_for_bolt(info: ServerInfo, log: Path, timeout: float) -> None:
    import neo4j
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    deadline = time.monotonic() + timeout
    last = "no attempt yet"
    driver = neo4j.GraphDatabase.driver(
        info.uri, auth=(info.username, info.password), connection_timeout=2.0
    )
    try:
        while True:
            ended = _gone(info.pid, info.home)
            if ended is not None:
                raise Neo4jSetupError(
                    f"Neo4j (pid {info.pid}) exited during startup ({ended}). Last lines of "
                    f"{log}:\n"
                    f"{_tail(log)}"
                )
            try:
                driver.verify_connectivity()
                records, _, _ = driver.execute_query("RETURN 1 AS ok")
                if records and records[0]["ok"] == 1:
                    return
            except AuthError as err:
                raise Neo4jSetupError(
                    f"Neo4j in {info.home} answers on port {info.port} but refuses the password "
                    f"stored in {info.home / STATE_FILE} ({err.message}). The database was "
                    "initialised with another password: stop it and delete that home to start "
                    "afresh."
                ) from err
            except (DriverError, Neo4jError, OSError) as err:
                last = f"{type(err).__name__}: {err}"
            if time.monotonic() >= deadline:
                raise Neo4jSetupError(
                    f"Neo4j (pid {info.pid}) did not answer on {info.uri} within {timeout:g} s "
                    f"(last error: {last}); it was stopped. Last lines of {log}:\n{_tail(log)}"
                )
            time.sleep(0.1)
    finally:
        driver.close()


def start(
    settings: Settings,
    *,
    home: Path | None = None,
    port: int = 7687,
    heap: str | None = None,
    pagecache: str | None = None,
    tx_memory: str | None = None,
    timeout: float = 180,
) -> ServerInfo:
    """Start (or find running) a local Neo4j Community server and wait until Bolt answers.

    Parameters
    ----------
    settings : Settings
        Java, Neo4j version and cache directory.
    home : Path, optional
        Server directory; a fresh one means an empty database. Default
        ``<cache_dir>/neo4j-home``.
    port : int, default 7687
        Bolt port, bound on 127.0.0.1 only. Ignored if this home's server is already running.
    heap, pagecache, tx_memory : str, optional
        JVM heap (``-Xms`` and ``-Xmx``), ``server.memory.pagecache.size`` and
        ``dbms.memory.transaction.total.max``; by default sized from the machine's memory
        (:func:`memory_sizes` of :func:`machine_memory`).
    timeout : float, default 180
        Seconds to wait for Bolt to answer ``RETURN 1``.

    Returns
    -------
    ServerInfo
        URI, user ``neo4j``, password, home, pid and port.

    Raises
    ------
    Neo4jSetupError
        Java/Maven missing, the port is taken, or the server died or did not answer in time
        (the message quotes the end of ``logs/console.log``; a server that times out is stopped).
    ConfigError
        Unusable port, memory size, version or path.

    Notes
    -----
    Idempotent: if this home's server is running, its info is returned. The password is generated
    on the first start (``gi`` + 24 hex digits), set with ``neo4j-admin dbms
    set-initial-password`` before the database exists, and kept in ``<home>/graphintel-neo4j.json``
    (mode 0600) for restarts. The server runs in its own session and outlives the caller; stop it
    with :func:`stop`.
    """
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"Bolt port {port!r} is out of range; use 1-65535, e.g. 7687.")
    sizes = memory_sizes(machine_memory(), heap=heap, pagecache=pagecache, tx_memory=tx_memory)
    path = _home(settings, home)
    with _locked(path):
        running = status(settings, home=path)
        if running is not None:
            return running
        if not _port_free(port):
            raise Neo4jSetupError(
                f"Port {port} on 127.0.0.1 is already in use by another program, so Neo4j cannot "
                f"listen there. Stop that program or choose another port (--port)."
            )
        lib = ensure_jars(settings, quiet=True)
        java = find_java(settings)
        for sub in ("conf", "data", "logs", "run", "plugins", "import"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        (path / "conf" / "neo4j.conf").write_text(
            _conf_text(path, lib, port, sizes), encoding="utf-8"
        )
        state = _read_state(path)
        initialised = (path / "data" / "databases" / "system").exists()
        password = state.get("password")
        if initialised and not password:
            raise Neo4jSetupError(
                f"{path} already holds a Neo4j database but no {STATE_FILE} with its password. "
                "Delete that home directory (its data is lost) or start with another --home."
            )
        if not password:
            # Letters and digits only, starting with a letter: picocli's @argfile reads a line
            # starting with '#' as a comment and one starting with '-' as an option.
            password = "gi" + secrets.token_hex(12)
        state = {
            "password": password,
            "port": port,
            "pid": None,
            "version": settings.neo4j_version,
            "username": _USERNAME,
            # the sizes it runs with, so a restart (after a bulk import) keeps them
            "heap": sizes.heap,
            "pagecache": sizes.pagecache,
            "tx_memory": sizes.tx_memory,
        }
        _write_state(path, state)
        if not initialised:
            _set_initial_password(settings, path, password)
        log = path / "logs" / "console.log"
        argv = [
            str(java),
            "-cp",
            f"{path / 'plugins'}/*:{lib}/*",
            f"-Xms{sizes.heap}",
            f"-Xmx{sizes.heap}",
            *_JVM_FLAGS,
            ENTRY_CLASS,
            f"--home-dir={path}",
            f"--config-dir={path / 'conf'}",
            "--console-mode",
        ]
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"\n=== graphintel: starting Neo4j {settings.neo4j_version} ===\n")
        pid = _spawn(argv, log)
        state["pid"] = pid
        _write_state(path, state)
        info = _info(path, state)
        try:
            _wait_for_bolt(info, log, timeout)
        except Neo4jSetupError:
            _terminate(pid, path, timeout=30)
            raise
        return info


# --------------------------------------------------------------------------------------------
# Stop and shell exports


def stop(settings: Settings, *, home: Path | None = None, timeout: float = 60) -> bool:
    """Stop the server of ``home``: SIGTERM (clean shutdown), then SIGKILL after ``timeout``.

    Parameters
    ----------
    settings : Settings
        Gives the default home.
    home : Path, optional
        The server's home directory.
    timeout : float, default 60
        Seconds to wait for a clean shutdown before SIGKILL.

    Returns
    -------
    bool
        True if a server was running (and is now gone), False if none was.

    Raises
    ------
    Neo4jSetupError
        The process survived SIGKILL.
    """
    path = _home(settings, home)
    if not path.is_dir():
        return False
    with _locked(path):
        info = status(settings, home=path)
        if info is None:
            return False
        _terminate(info.pid, path, timeout)
        if _is_our_server(info.pid, path):
            raise Neo4jSetupError(
                f"Neo4j (pid {info.pid}) in {path} is still running after SIGTERM and SIGKILL; "
                "check the process by hand (ps) and its logs."
            )
        state = _read_state(path)
        state["pid"] = None
        _write_state(path, state)
        return True


def shell_exports(info: ServerInfo) -> str:
    """Shell lines that export the connection settings of ``info``.

    Parameters
    ----------
    info : ServerInfo

    Returns
    -------
    str
        ``export NEO4J_URI=...``, ``NEO4J_USERNAME`` and ``NEO4J_PASSWORD`` lines, values quoted
        with :func:`shlex.quote`, so ``eval "$(graphintel neo4j start)"`` is safe.

    Examples
    --------
    >>> info = ServerInfo("bolt://127.0.0.1:7687", "neo4j", "it's $x", Path("/h"), 1, 7687)
    >>> print(shell_exports(info))
    export NEO4J_URI=bolt://127.0.0.1:7687
    export NEO4J_USERNAME=neo4j
    export NEO4J_PASSWORD='it'"'"'s $x'
    """
    pairs = (
        ("NEO4J_URI", info.uri),
        ("NEO4J_USERNAME", info.username),
        ("NEO4J_PASSWORD", info.password),
    )
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in pairs)
