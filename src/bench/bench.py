#!/usr/bin/env python3
"""Side-by-side benchmark of saslauth against its peers; run it through src/bench/run.sh.

Every row runs saslauth and its peer interleaved in the same run (A B B A A B ...), so that a
busy machine slows both alike, and reports medians and the ratio saslauth / peer.
"""

import argparse
import base64
import hashlib
import hmac
import os
import platform
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HANDSHAKE_IN = b"VERSION\t1\t0\nCPID\t4242\n"


# --- talking to a helper or to Dovecot's auth-client socket ------------------------------------

class Conn:
    """One auth-client connection: a pipe to a helper process, or a UNIX socket to Dovecot."""

    def __init__(self, send, recv, close):
        self.send, self.recv, self.close = send, recv, close
        self.buf = b""
        self.next_id = 1

    @staticmethod
    def of_process(proc):
        fin, fout = proc.stdin.fileno(), proc.stdout.fileno()

        def send(data):
            view = memoryview(data)
            while view:
                view = view[os.write(fin, view):]

        return Conn(send, lambda: os.read(fout, 1 << 16), proc.stdin.close)

    @staticmethod
    def of_socket(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return Conn(s.sendall, lambda: s.recv(1 << 16), s.close)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.recv()
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def handshake(self):
        """Sends VERSION and CPID and reads up to DONE; returns the MECH names offered."""
        self.send(HANDSHAKE_IN)
        mechs = []
        while True:
            line = self.read_line()
            if line == b"DONE":
                return mechs
            if line.startswith(b"MECH\t"):
                mechs.append(line.split(b"\t")[1].decode())

    def one_at_a_time(self, lines):
        """Sends each line after the previous answer; returns (seconds, failures)."""
        fails = 0
        t0 = time.perf_counter()
        for line in lines:
            self.send(line)
            if not self.read_line().startswith(b"OK\t"):
                fails += 1
        return time.perf_counter() - t0, fails

    def pipelined(self, lines, window):
        """Keeps `window` requests in flight; returns (seconds, failures)."""
        total, sent, done, fails = len(lines), 0, 0, 0
        t0 = time.perf_counter()
        first = min(window, total)
        self.send(b"".join(lines[:first]))
        sent = first
        pending = self.buf
        self.buf = b""
        while done < total:
            if pending.count(b"\n") == 0:
                chunk = self.recv()
                if not chunk:
                    raise EOFError("connection closed after %d answers" % done)
                pending += chunk
            cut = pending.rfind(b"\n") + 1
            complete, pending = pending[:cut], pending[cut:]
            n = complete.count(b"\n")
            fails += complete.count(b"FAIL\t")
            done += n
            more = min(n, total - sent)
            if more:
                self.send(b"".join(lines[sent:sent + more]))
                sent += more
        elapsed = time.perf_counter() - t0
        self.buf = pending
        return elapsed, fails


    def exchanges(self, start, total, window):
        """Runs `total` multi-step exchanges, `window` in flight; start(id) gives a generator
        that yields each line to send and is sent each CONT answered. Returns (seconds, failures)."""
        active = {}
        sent = done = fails = 0
        t0 = time.perf_counter()

        def launch():
            nonlocal sent
            i = self.next_id
            self.next_id += 1
            sent += 1
            g = start(i)
            active[i] = g
            return next(g)

        self.send(b"".join(launch() for _ in range(min(window, total))))
        while done < total:
            line = self.read_line()
            kind, rid = line.split(b"\t", 2)[:2]
            g = active[int(rid)]
            if kind == b"CONT":
                self.send(g.send(line))
                continue
            del active[int(rid)]
            g.close()
            done += 1
            if kind != b"OK":
                fails += 1
            if sent < total:
                self.send(launch())
        return time.perf_counter() - t0, fails


def auth_line(i, mech, resp):
    return b"AUTH\t%d\t%s\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.10\tresp=%s\n" % (
        i, mech.encode(), base64.b64encode(resp))


def plain_lines(users, n, start=1):
    return [auth_line(start + i, "PLAIN", b"\0" + u + b"\0" + p)
            for i, (u, p) in zip(range(n), cycle(users, n))]


def oreore_lines(n, start=1):
    return [auth_line(start + i, "OREORE", b"user%d" % (i % 100)) for i in range(n)]


def auth_start(i, mech):
    return b"AUTH\t%d\t%s\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.10\n" % (i, mech.encode())


def cram_md5(user, password):
    """An exchange for Conn.exchanges: RFC 2195's answer to the server's challenge."""
    def run(i):
        reply = yield auth_start(i, "CRAM-MD5")
        challenge = base64.b64decode(reply.split(b"\t")[2])
        digest = hmac.new(password, challenge, "md5").hexdigest().encode()
        yield b"CONT\t%d\t%s\n" % (i, base64.b64encode(user + b" " + digest))
    return run


def scram_sha256(user, password, salted_cache):
    """An exchange for Conn.exchanges: an RFC 7677 client that checks the server's signature.
    SaltedPassword is kept by salt and iterations in salted_cache when that is a dict (a client
    may keep it); None derives it at every login."""
    def run(i):
        bare = b"n=" + user + b",r=" + base64.b64encode(os.urandom(18))
        reply = yield auth_start(i, "SCRAM-SHA-256")[:-1] + b"\tresp=" + base64.b64encode(b"n,," + bare) + b"\n"
        first = base64.b64decode(reply.split(b"\t")[2])
        a = dict(f.split(b"=", 1) for f in first.split(b","))
        key = (user, a[b"s"], a[b"i"])
        salted = salted_cache.get(key) if salted_cache is not None else None
        if salted is None:
            salted = hashlib.pbkdf2_hmac("sha256", password, base64.b64decode(a[b"s"]), int(a[b"i"]))
            if salted_cache is not None:
                salted_cache[key] = salted
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = b"c=biws,r=" + a[b"r"]
        auth_message = bare + b"," + first + b"," + without_proof
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(x ^ y for x, y in zip(client_key, signature))
        final = without_proof + b",p=" + base64.b64encode(proof)
        reply = yield b"CONT\t%d\t%s\n" % (i, base64.b64encode(final))
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        expected = b"v=" + base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest())
        if base64.b64decode(reply.split(b"\t")[2]) != expected:
            raise SystemExit("SCRAM-SHA-256: wrong server signature for " + user.decode())
        yield b"CONT\t%d\t\n" % i
    return run


def scram_entry(password, salt, iterations=4096):
    """A {SCRAM-SHA-256} entry, as doveadm pw makes it."""
    salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return "{SCRAM-SHA-256}%d,%s,%s,%s" % (iterations, b64(salt), b64(hashlib.sha256(client_key).digest()),
                                          b64(server_key))


def cycle(items, n):
    return (items[i % len(items)] for i in range(n))


# --- the contestants ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.a = args
        self.tmp = tempfile.mkdtemp(prefix="saslauth-bench-")
        os.chmod(self.tmp, 0o755)
        self.env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "SASLAUTH_JAR": args.jar}
        self.jvm_flags = self.launcher_jvm_flags()
        # Each runtime with its own start-up cache, made the way an installation makes it.
        self.runtimes = [Runtime(j, self.path("cache-%d.jsa" % i)) for i, j in enumerate(args.java)]
        self.stray = []  # (who, bytes) printed on stderr: must stay empty
        self.dovecot_pid = None
        self.dovecots = []  # configs of the Dovecot instances started
        self.servers = []   # how to stop the PostgreSQL and slapd started
        self.daemons = []   # saslauth daemons running
        self.postfix = None  # the config directory of the Postfix started, if any

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def launcher_jvm_flags(self):
        """The JVM flags examples/saslauth passes, read by running it with a fake java."""
        fake = os.path.join(tempfile.mkdtemp(prefix="saslauth-flags-"), "java")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
        os.chmod(fake, 0o755)
        env = dict(os.environ, SASLAUTH_JAVA=fake, SASLAUTH_JAR=self.a.jar)
        out = subprocess.run([self.a.launcher], env=env, stdout=subprocess.PIPE, check=True).stdout
        shutil.rmtree(os.path.dirname(fake))
        flags = out.decode().splitlines()
        return [f for f in flags[:flags.index("-jar")] if not f.startswith("-XX:SharedArchiveFile")]

    # Commands. Each starts a helper with stdin/stdout pipes; stderr is captured separately and
    # must stay empty (under spawn(8) it would be the socket).
    def saslauth_cmd(self, rt, config, cache=None):
        return ["SASLAUTH_JAVA=" + rt.java, "SASLAUTH_CDS=" + (cache or rt.cache),
                self.a.launcher, "--config", config]

    def ruby_cmd(self):
        return ["ruby", self.a.oreore]

    def bare_cmd(self, rt):
        return [rt.java] + self.jvm_flags + ["-cp", self.a.bench_classes, "BareHelper"]

    def make_caches(self):
        for rt in self.runtimes:
            subprocess.run([self.a.launcher, "cds"], check=True,
                           env=dict(self.env, SASLAUTH_JAVA=rt.java, SASLAUTH_CDS=rt.cache))

    def start(self, cmd):
        env = dict(self.env)
        while "=" in cmd[0] and not cmd[0].startswith("/"):  # variables first, as env(1) takes them
            name, value = cmd[0].split("=", 1)
            env[name] = value
            cmd = cmd[1:]
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, bufsize=0)

    def finish(self, who, proc):
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        rc = proc.wait()
        if err:
            self.stray.append((who, err))
        return rc

    # --- rows ----------------------------------------------------------------------------------

    def cold_start(self, contestants, runs):
        times = {name: [] for name, _ in contestants}
        for r in range(runs):
            order = contestants if r % 2 == 0 else list(reversed(contestants))
            for name, cmd in order:
                t0 = time.perf_counter()
                p = self.start(cmd)
                Conn.of_process(p).handshake()
                times[name].append(time.perf_counter() - t0)
                self.finish(name, p)
        return {k: statistics.median(v) for k, v in times.items()}

    def peak_rss(self, contestants, logins, runs):
        rss = {name: [] for name, _, _ in contestants}
        for r in range(runs):
            order = contestants if r % 2 == 0 else list(reversed(contestants))
            for name, cmd, lines in order:
                p = self.start(cmd)
                c = Conn.of_process(p)
                c.handshake()
                _, fails = c.pipelined(lines(logins), 64)
                if fails:
                    raise SystemExit("%s: %d logins failed" % (name, fails))
                rss[name].append(vm_hwm_kb(p.pid))
                self.finish(name, p)
        return {k: statistics.median(v) for k, v in rss.items()}

    def pss_many(self, contestants, helpers, runs):
        """PSS per helper (KiB) with `helpers` of a kind alive at once, each after one login:
        what each one costs the machine once shared pages (libjvm, the start-up cache, the jar)
        are split among them. Median over `runs` interleaved rounds."""
        pss = {name: [] for name, _, _ in contestants}
        for r in range(runs):
            order = contestants if r % 2 == 0 else list(reversed(contestants))
            for name, cmd, line in order:
                procs = []
                try:
                    for i in range(helpers):
                        p = self.start(cmd)
                        procs.append(p)
                        c = Conn.of_process(p)
                        c.handshake()
                        c.send(line)
                        if not c.read_line().startswith(b"OK\t"):
                            raise SystemExit("%s: the login failed" % name)
                    time.sleep(0.2)  # let every helper settle after its answer
                    pss[name].append(sum(pss_kb(p.pid) for p in procs) / helpers)
                finally:
                    for p in procs:
                        self.finish(name, p)
        return {k: statistics.median(v) for k, v in pss.items()}

    def rate(self, contestants, lines, rounds, warmup, window):
        """Logins per second on one connection; window 1 is one at a time."""
        rates = {name: [] for name, _ in contestants}
        for r in range(rounds):
            order = contestants if r % 2 == 0 else list(reversed(contestants))
            for name, connect in order:
                c, done = connect()
                c.handshake()
                run = (lambda ls: c.one_at_a_time(ls)) if window == 1 else (lambda ls: c.pipelined(ls, window))
                run(lines(warmup, 1))
                seconds, fails = run(lines(self.a.logins, warmup + 1))
                if fails:
                    raise SystemExit("%s: %d logins failed" % (name, fails))
                rates[name].append(self.a.logins / seconds)
                done()
        return {k: statistics.median(v) for k, v in rates.items()}

    def latency(self, contestants, line, rounds, warmup):
        """Median seconds for one login, each after the previous answer; None when it FAILs."""
        lat = {name: [] for name, _ in contestants}
        self.first_login = {name: [] for name, _ in contestants}
        supported = {name: True for name, _ in contestants}
        for r in range(rounds):
            order = contestants if r % 2 == 0 else list(reversed(contestants))
            for name, connect in order:
                if not supported[name]:
                    continue
                c, done = connect()
                try:
                    c.handshake()
                except EOFError:  # the helper refused this passwd file, saying why on stderr
                    n = len(self.stray)
                    done()
                    del self.stray[n:]
                    supported[name] = False
                    continue
                for i in range(warmup + self.a.hash_logins):
                    t0 = time.perf_counter()
                    c.send(line(i + 1))
                    ok = c.read_line().startswith(b"OK\t")
                    dt = time.perf_counter() - t0
                    if not ok:
                        supported[name] = False
                        break
                    if i >= warmup:
                        lat[name].append(dt)
                    elif i == 0:
                        self.first_login[name].append(dt)
                done()
        return {k: (statistics.median(v) if supported[k] and v else None) for k, v in lat.items()}

    # --- Dovecot -------------------------------------------------------------------------------

    def start_dovecot(self, passwd, name="dovecot", passdb=None, cache="", failure_delay="0"):
        """A throwaway Dovecot auth server; passdb is the body of its passdb block (default: the
        passwd file), cache extra auth_cache_* lines; failure_delay None keeps Dovecot's default
        auth_failure_delay (2 s). The seconds from its start to the first connection its auth
        process accepted are left in started_in."""
        if passdb is None:
            passdb = "  driver = passwd-file\n  args = %s\n" % passwd
        base = self.path(name + "-run")
        os.mkdir(base, 0o755)
        conf = self.write(name + ".conf", f"""\
base_dir = {base}
state_dir = {self.path(name + "-state")}
log_path = {self.path(name + ".log")}
instance_name = saslauth-bench-{name}-{os.getpid()}
ssl = no
protocols =
{"" if failure_delay is None else "auth_failure_delay = %s" % failure_delay}
auth_mechanisms = plain login cram-md5 scram-sha-256
disable_plaintext_auth = no
default_client_limit = 2000
{cache or "auth_cache_size = 0"}
passdb {{
{passdb}}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
""")
        os.mkdir(self.path(name + "-state"), 0o755)
        t0 = time.perf_counter()
        subprocess.run(["dovecot", "-c", conf], check=True)
        self.dovecots.append(conf)
        self.dovecot_conf = conf
        sock = os.path.join(base, "auth-client")
        end = t0 + 5
        while time.perf_counter() < end:
            if os.path.exists(sock):
                try:
                    Conn.of_socket(sock).close()
                    self.started_in = time.perf_counter() - t0
                    return sock
                except OSError:
                    pass
            time.sleep(0.005)
        raise SystemExit("dovecot did not start; see " + self.path(name + ".log"))

    def stop_one_dovecot(self, conf):
        subprocess.run(["dovecot", "-c", conf, "stop"], stderr=subprocess.DEVNULL)
        self.dovecots.remove(conf)

    def stop_dovecot(self):
        for p in list(self.daemons):
            p.kill()
            p.wait()
        self.daemons = []
        if self.postfix:
            subprocess.run(["postfix", "-c", self.postfix, "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.postfix = None
        for conf in self.dovecots:
            subprocess.run(["dovecot", "-c", conf, "stop"], stderr=subprocess.DEVNULL)
        self.dovecots = []
        for stop in reversed(self.servers):
            stop()
        self.servers = []

    # --- PostgreSQL and slapd, for rows 6 and 7 -------------------------------------------------
    # Started as nobody (PostgreSQL refuses root) in the bench directory, on loopback.

    def as_nobody(self, cmd, **kw):
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + cmd,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True, **kw)

    def start_postgres(self, users):
        d = self.path("pg")
        os.mkdir(d, 0o755)
        shutil.chown(d, "nobody", "nogroup")
        bin_ = "/usr/lib/postgresql/15/bin/"
        port = free_port()
        self.as_nobody([bin_ + "initdb", "-D", d + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-sync"])
        self.as_nobody([bin_ + "pg_ctl", "-D", d + "/data", "-l", d + "/log", "-w", "-o",
                        "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (port, d), "start"])
        self.servers.append(lambda: self.as_nobody([bin_ + "pg_ctl", "-D", d + "/data", "-m", "fast", "-w", "stop"]))
        sql = ("CREATE TABLE mailbox (username varchar(255) PRIMARY KEY, password varchar(255) NOT NULL,"
               " active boolean NOT NULL DEFAULT true);\n"
               + "".join("INSERT INTO mailbox VALUES ('%s', '{PLAIN}%s', true);\n" % (u.decode(), p.decode())
                         for u, p in users))
        self.as_nobody([bin_ + "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", d, "-p", str(port), "-U",
                        "postgres", "-d", "postgres"], input=sql.encode())
        return port

    def start_slapd(self, users):
        d = self.path("slapd")
        os.makedirs(d + "/db", 0o755)
        port = free_port()
        with open(d + "/slapd.conf", "w") as f:
            f.write("include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n"
                    "include /etc/ldap/schema/inetorgperson.schema\npidfile %s/slapd.pid\n"
                    "modulepath /usr/lib/ldap\nmoduleload back_mdb\ndatabase mdb\nmaxsize 67108864\n"
                    "suffix \"dc=example,dc=org\"\ndirectory %s/db\nindex uid eq\nindex objectClass eq\n"
                    "access to * by * read\n" % (d, d))
        with open(d + "/users.ldif", "w") as f:
            f.write("dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: E\n\n")
            for u, p in users:
                f.write("dn: uid=%s,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: %s\ncn: u\nsn: u\n"
                        "userPassword: {PLAIN}%s\n\n" % (u.decode(), u.decode(), p.decode()))
        for root, dirs, files in os.walk(d):
            for n in dirs + files + ["."]:
                shutil.chown(os.path.join(root, n), "nobody", "nogroup")
        self.as_nobody(["slapadd", "-q", "-f", d + "/slapd.conf", "-l", d + "/users.ldif"])
        self.as_nobody(["slapd", "-f", d + "/slapd.conf", "-h", "ldap://127.0.0.1:%d/" % port])
        self.servers.append(lambda: subprocess.run(["kill", open(d + "/slapd.pid").read().strip()]))
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        return port


    # --- saslauth daemon and Postfix, for row 9 --------------------------------------------------

    def start_daemon(self, rt, config, name="daemon"):
        """saslauth daemon as the launcher runs it (its long-lived JVM flags), on a UNIX socket
        anyone may connect to; returns (process, socket path). Its output goes to a file; the
        seconds from the fork to the first connection it accepted are left in started_in."""
        sock = self.path(name + ".sock")
        t0 = time.perf_counter()
        with open(self.path(name + ".out"), "ab") as out:
            p = subprocess.Popen([self.a.launcher, "daemon", "--config", config, "--listen", "unix:" + sock,
                                  "--socket-mode", "0666", "--max-connections", "1100"],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(self.env, SASLAUTH_JAVA=rt.java))
        self.daemons.append(p)
        end = t0 + 20
        while time.perf_counter() < end:
            if p.poll() is not None:
                raise SystemExit("saslauth daemon exited with %d; see %s" % (p.returncode, self.path(name + ".out")))
            try:
                Conn.of_socket(sock).close()
                self.started_in = time.perf_counter() - t0
                return p, sock
            except OSError:
                time.sleep(0.005)
        raise SystemExit("saslauth daemon did not listen on " + sock)

    def stop_daemon(self, p):
        p.terminate()
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise SystemExit("saslauth daemon did not stop within 15 s of SIGTERM")
        self.daemons.remove(p)
        if rc != 0:
            raise SystemExit("saslauth daemon exited with %d on SIGTERM" % rc)

    def start_postfix(self, sasl_paths):
        """A throwaway Postfix on loopback with one smtpd service per entry of sasl_paths
        (label -> auth socket), each smtpd serving one session (max_use=1), so that every
        session is a new smtpd that connects to its auth server before it greets. Returns
        label -> port."""
        d = self.path("postfix")
        etc, queue = d + "/etc", d + "/queue"
        for x in (d, etc, queue):
            os.makedirs(x, 0o755, exist_ok=True)
        ports = {label: free_port() for label in sasl_paths}
        self.write("postfix/etc/main.cf", f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.saslauth.test
mydestination = localhost
mynetworks = 192.0.2.1/32
alias_maps =
alias_database =
smtpd_peername_lookup = no
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
""")
        services = "".join("127.0.0.1:%d inet n - n - - smtpd\n  -o smtpd_sasl_path=%s\n  -o max_use=1\n"
                           % (ports[label], path) for label, path in sasl_paths.items())
        self.write("postfix/etc/master.cf", services + """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        r = subprocess.run(["postfix", "-c", etc, "start"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SystemExit("postfix start failed: " + r.stdout)
        self.postfix = etc
        for port in ports.values():
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit("postfix does not listen on %d; see %s/maillog" % (port, d))
        return ports

    def banner(self, port):
        """Seconds from connect to smtpd's 220 greeting; then checks that EHLO offers AUTH (the
        auth server answered) and quits."""
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), 10)
        f = s.makefile("rb")
        greeting = f.readline()
        dt = time.perf_counter() - t0
        if not greeting.startswith(b"220 "):
            raise SystemExit("smtpd on %d greeted %r" % (port, greeting))
        s.sendall(b"EHLO bench.test\r\n")
        ehlo = []
        while True:
            line = f.readline()
            ehlo.append(line)
            if not line.startswith(b"250-"):
                break
        if not any(l[4:].startswith(b"AUTH PLAIN") or l[4:].startswith(b"AUTH ") for l in ehlo):
            raise SystemExit("smtpd on %d offered no AUTH: %r (see %s/maillog)" % (port, ehlo, self.path("postfix")))
        s.sendall(b"QUIT\r\n")
        f.readline()
        f.close()
        s.close()
        return dt

    def load_client(self, sock, connections, window, warmup, logins, requests=None):
        """PLAIN logins/s over `connections` connections, `window` in flight on each (LoadClient);
        with `requests`, a file of MECH<TAB>BASE64 lines, those logins instead."""
        out = subprocess.run([self.runtimes[0].java, "-cp", self.a.bench_classes, "LoadClient", sock,
                              str(connections), str(window), str(warmup), str(logins)]
                             + ([requests] if requests else []),
                             stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        if int(out[1]):
            raise SystemExit("%s: %s logins failed" % (sock, out[1]))
        return float(out[0])


def hold_clients(sock, n, login):
    """n connections, each after its handshake and one login, held open; returns them."""
    conns = []
    for _ in range(n):
        c = Conn.of_socket(sock)
        c.handshake()
        c.send(login)
        if not c.read_line().startswith(b"OK\t"):
            raise SystemExit("%s: a login failed" % sock)
        conns.append(c)
    return conns


def dovecot_pss_kb(sock):
    """(PSS of Dovecot's auth processes, PSS of all its processes) in KiB, for the instance whose
    auth-client socket is sock."""
    with open(os.path.join(os.path.dirname(sock), "master.pid")) as f:
        master = int(f.read().strip())
    total, auth = pss_kb(master), 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid != master:
                continue
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
            kb = pss_kb(int(pid))
        except (OSError, ValueError):
            continue
        total += kb
        if comm == "auth":
            auth += kb
    return auth, total


def oidc_token(issuer, user):
    """An access token of the tests' OpenID provider for `user` (login_hint), through its
    authorization-code flow with PKCE, as OidcProvider.token does in the tests."""
    import http.cookiejar
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1/cb"
    url = issuer + "/auth?" + urllib.parse.urlencode(dict(
        client_id="mail", response_type="code", redirect_uri=redirect, scope="openid mail",
        resource="urn:saslauth:mail", login_hint=user, code_challenge=challenge, code_challenge_method="S256",
        state="s"))
    for _ in range(8):
        if url.startswith(redirect):
            break
        try:
            opener.open(url)
            raise SystemExit("oidc: no redirect from " + url)
        except urllib.error.HTTPError as e:
            url = urllib.parse.urljoin(url, e.headers["Location"])
    code = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["code"][0]
    req = urllib.request.Request(issuer + "/token", data=urllib.parse.urlencode(dict(
        grant_type="authorization_code", code=code, redirect_uri=redirect, code_verifier=verifier,
        resource="urn:saslauth:mail")).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(b"mail:mail-secret").decode()})
    return json.load(opener.open(req))["access_token"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_redis():
    """A throwaway redis-server on a free loopback port, nothing saved; returns (process, port)
    once it listens."""
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return redis, port
        except OSError:
            time.sleep(0.05)
    stop_redis(redis)
    raise SystemExit("redis-server did not listen on %d" % port)


def stop_redis(redis):
    """Stops a redis-server of start_redis, by its pid."""
    redis.terminate()
    try:
        redis.wait(10)
    except subprocess.TimeoutExpired:
        redis.kill()
        redis.wait()


class Runtime:
    """A java command and the feature version it reports."""

    def __init__(self, java, cache):
        self.java, self.cache = java, cache
        out = subprocess.run([java, "-XshowSettings:properties", "-version"], stderr=subprocess.PIPE,
                             text=True, check=True).stderr
        self.feature = next(l.split("=", 1)[1].strip() for l in out.splitlines()
                            if l.strip().startswith("java.specification.version"))
        self.version = subprocess.run([java, "-version"], stderr=subprocess.PIPE,
                                      text=True).stderr.splitlines()[0]
        self.label = "Java " + self.feature


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError("no Pss")


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def machine(runtimes):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return [f"nproc: {os.cpu_count()}", f"cpu: {cpu}", f"kernel: {platform.release()}"] + [
            f"java: {rt.java}: {rt.version}" for rt in runtimes] + ["dovecot: " + subprocess.run(["dovecot", "--version"], stdout=subprocess.PIPE,
                                                          text=True).stdout.strip(),
            "ruby: " + subprocess.run(["ruby", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip(),
            "load average at start: %.2f %.2f %.2f" % load]


# --- the table ---------------------------------------------------------------------------------

class Table:
    def __init__(self):
        self.rows = []
        self.sections = []  # tables of their own (row 15), printed after this one

    def add(self, what, peer, ours, theirs, unit, budget, lower_is_better, runtime=""):
        what = what + (" [" + runtime + "]" if runtime else "")
        if ours is None:
            self.rows.append((what, peer, "n/a (scheme unsupported)", fmt(theirs, unit), "", budget, ""))
            return
        ratio = ours / theirs
        verdict = ""
        if budget != "none":
            limit = float(budget.split()[-1])
            ok = ratio <= limit if lower_is_better else ratio >= limit
            verdict = "ok" if ok else "OVER"
        self.rows.append((what, peer, fmt(ours, unit), fmt(theirs, unit), "%.2f" % ratio, budget, verdict))

    def print(self):
        if not self.rows:
            for section in self.sections:
                print(section)
            return
        head = ("row", "peer", "saslauth", "peer value", "ratio", "budget", "")
        widths = [max(len(r[i]) for r in self.rows + [head]) for i in range(len(head))]
        line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
        print(line(head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for r in self.rows:
            print(line(r))
        for section in self.sections:
            print()
            print(section)


def fmt(value, unit):
    if unit == "ms":
        return "%.1f ms" % (value * 1000)
    if unit == "MiB":
        return "%.1f MiB" % (value / 1024)
    return "%.0f /s" % value


def progress(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jar", required=True)
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--oreore", required=True)
    ap.add_argument("--bench-classes", required=True)
    ap.add_argument("--java", action="append",
                    help="a runtime to run the Java helpers on (repeat for several; default java)")
    ap.add_argument("--starts", type=int, default=31, help="cold starts of each helper")
    ap.add_argument("--helpers", type=int, default=30, help="helpers alive at once for the PSS row")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of each throughput row")
    ap.add_argument("--logins", type=int, default=20000, help="timed logins per throughput round")
    ap.add_argument("--hash-logins", type=int, default=10,
                    help="timed logins per latency round, after 3 untimed ones")
    ap.add_argument("--challenge-logins", type=int, default=3000,
                    help="timed logins per round of the CRAM-MD5 and SCRAM rows (8)")
    ap.add_argument("--banners", type=int, default=100,
                    help="SMTP sessions per server timed in row 9's connect-to-banner")
    ap.add_argument("--fresh-banners", type=int, default=30,
                    help="SMTP sessions per freshly started server in row 9's connect-to-banner")
    ap.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", help="rows to run, e.g. 1,3")
    a = ap.parse_args()
    a.java = a.java or ["java"]
    only = set(a.only.split(","))
    # Row 9 holds 1,000 connections to each server; the servers started inherit this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))

    b = Bench(a)
    table = Table()
    for m in machine(b.runtimes):
        print(m)
    print("launcher JVM flags: " + " ".join(b.jvm_flags))
    print()
    finished = False
    try:
        progress("making the start-up cache of each runtime (saslauth cds)")
        b.make_caches()
        run(a, b, table, only)
        finished = True
    finally:
        b.stop_dovecot()
        table.print()
        print("\nload average at the end: %.2f %.2f %.2f" % os.getloadavg())
        for who, err in b.stray:
            print("\nSTRAY OUTPUT on stderr from %s: %r" % (who, err[:300]))
        if b.stray:
            sys.exit(1)
        if finished:
            shutil.rmtree(b.tmp, ignore_errors=True)
        else:
            print("\nthe run's files (configs, logs) are kept in " + b.tmp)


def run(a, b, table, only):
    # Users: PLAIN ones for throughput, one per hashed scheme made by doveadm pw at its defaults.
    plain = [(b"user%d" % i, b"pass-%d" % i) for i in range(100)]
    plain_passwd = "".join("%s:{PLAIN}%s\n" % (u.decode(), p.decode()) for u, p in plain)
    hashed = {}
    for scheme in ("SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID"):
        pw = b"secret-" + scheme.lower().encode()
        h = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", pw.decode()], stdout=subprocess.PIPE,
                           text=True, check=True).stdout.strip()
        hashed[scheme] = (b"h-" + scheme.lower().encode(), pw, h)
    # SCRAM users: the same passwords as {SCRAM-SHA-256} entries, each with its own salt.
    scram = [(b"scram%d" % i, b"pass-%d" % i) for i in range(100)]
    scram_passwd = "".join("%s:%s\n" % (u.decode(), scram_entry(p, os.urandom(16))) for u, p in scram)
    b.write("plain.passwd", plain_passwd)
    b.write("challenge.passwd", plain_passwd + scram_passwd)
    b.write("all.passwd", plain_passwd + scram_passwd
            + "".join("%s:%s\n" % (u.decode(), h) for u, _, h in hashed.values()))
    log = b.path("saslauth.log")

    # No failure delay, as on Dovecot's side; no per-connection rate limit either, since the
    # driver pushes far more logins a second down one connection than any smtpd would.
    def config(name, passwd, mechs="PLAIN,LOGIN"):
        return b.write(name + ".properties",
                       "passwd-file = %s\nmechanisms = %s\nfailure-delay = 0\nmax-auth-rate = 0\n"
                       "log-file = %s\nlog-level = info\n"
                       % (passwd, mechs, log))

    plain_conf = config("plain", b.path("plain.passwd"))
    oreore_conf = config("oreore", b.path("plain.passwd"), "OREORE")

    # Budgets per runtime (issue 15): on Java 25 as fast as the Ruby helper and within 1.5x the
    # bare JVM; on 17 within 1.3x the bare JVM (no HotSpot 17 helper reaches Ruby).
    def budget(rt, against):
        modern = int(rt.feature) >= 25
        return {"ruby": "<= 1.0" if modern else "none", "bare": "<= 1.5" if modern else "<= 1.3"}[against]

    if "1" in only:
        progress("cold start: %d interleaved starts each" % a.starts)
        contestants = [("ruby", b.ruby_cmd())]
        for rt in b.runtimes:
            contestants += [("saslauth " + rt.label, b.saslauth_cmd(rt, plain_conf)),
                            ("bare " + rt.label, b.bare_cmd(rt)),
                            ("nocache " + rt.label,
                             b.saslauth_cmd(rt, plain_conf, b.path("no-such-cache.jsa")))]
        t = b.cold_start(contestants, a.starts)
        what = "1 cold start to DONE (median of %d)" % a.starts
        for rt in b.runtimes:
            ours = t["saslauth " + rt.label]
            table.add(what, "Ruby oreore.rb", ours, t["ruby"], "ms", budget(rt, "ruby"), True, rt.label)
            table.add(what, "bare JVM", ours, t["bare " + rt.label], "ms", budget(rt, "bare"), True, rt.label)
            table.add("1 cold start, without the start-up cache", "bare JVM", t["nocache " + rt.label],
                      t["bare " + rt.label], "ms", "none", True, rt.label)

    if "2" in only:
        progress("peak RSS after 1000 logins")
        contestants = [("ruby", b.ruby_cmd(), oreore_lines)]
        for rt in b.runtimes:
            contestants += [("saslauth " + rt.label, b.saslauth_cmd(rt, plain_conf), lambda n: plain_lines(plain, n)),
                            ("bare " + rt.label, b.bare_cmd(rt), lambda n: plain_lines(plain, n))]
        m = b.peak_rss(contestants, 1000, max(a.rounds, 3))
        for rt in b.runtimes:
            table.add("2 peak RSS (VmHWM) after 1000 logins", "bare JVM", m["saslauth " + rt.label],
                      m["bare " + rt.label], "MiB", "<= 1.15", True, rt.label)
            table.add("2 peak RSS (VmHWM) after 1000 logins", "Ruby oreore.rb", m["saslauth " + rt.label],
                      m["ruby"], "MiB", "none", True, rt.label)

        progress("PSS of %d helpers alive at once" % a.helpers)
        login = plain_lines(plain, 1)[0]
        contestants = [("ruby", b.ruby_cmd(), oreore_lines(1)[0])]
        for rt in b.runtimes:
            contestants += [("saslauth " + rt.label, b.saslauth_cmd(rt, plain_conf), login),
                            ("bare " + rt.label, b.bare_cmd(rt), login)]
        m = b.pss_many(contestants, a.helpers, 3)
        what = "2 PSS per helper, %d alive, 1 login each" % a.helpers
        for rt in b.runtimes:
            table.add(what, "bare JVM", m["saslauth " + rt.label], m["bare " + rt.label], "MiB", "<= 1.1", True,
                      rt.label)
            table.add(what, "Ruby oreore.rb", m["saslauth " + rt.label], m["ruby"], "MiB", "none", True, rt.label)

    if "10" in only:
        # Issue 21: syslog-facility set against not, interleaved in this one run. The helpers send
        # to a datagram socket of the run's own, drained by a thread here, as /dev/log would be.
        sock_path = b.path("syslog.sock")
        sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sink.bind(sock_path)
        received = []

        def drain():
            while True:
                try:
                    received.append(sink.recv(65536))
                except OSError:
                    return
        threading.Thread(target=drain, daemon=True).start()
        syslog_conf = b.write("syslog.properties", open(plain_conf).read()
                              + "syslog-facility = mail\nsyslog-socket = %s\n" % sock_path)
        login = plain_lines(plain, 1)[0]
        for rt in b.runtimes:
            progress("cold start with and without syslog-facility on %s: %d interleaved starts each"
                     % (rt.label, a.starts))
            contestants = [("syslog", b.saslauth_cmd(rt, syslog_conf)), ("file only", b.saslauth_cmd(rt, plain_conf))]
            t = b.cold_start(contestants, a.starts)
            table.add("10 cold start to DONE, syslog-facility = mail (median of %d)" % a.starts, "without syslog",
                      t["syslog"], t["file only"], "ms", "<= 1.05", True, rt.label)
            times = {name: [] for name, _ in contestants}
            for r in range(a.starts):
                for name, cmd in (contestants if r % 2 == 0 else list(reversed(contestants))):
                    t0 = time.perf_counter()
                    p = b.start(cmd)
                    c = Conn.of_process(p)
                    c.handshake()
                    c.one_at_a_time([login])
                    times[name].append(time.perf_counter() - t0)
                    b.finish(name, p)
            table.add("10 cold start to the first login's OK, syslog (median of %d)" % a.starts, "without syslog",
                      statistics.median(times["syslog"]), statistics.median(times["file only"]), "ms", "none", True,
                      rt.label)
        sink.close()
        progress("syslog received %d datagrams" % len(received))

    if "13" in only:
        # Issue 22: the penalty store in a throwaway redis-server against this process's memory:
        # the daemon's PLAIN logins/s, and a spawned helper's cold start to DONE.
        redis, rport = start_redis()
        try:
            rt = b.runtimes[0]
            mem_conf = config("penalty-memory", b.path("all.passwd"), "PLAIN,LOGIN")
            redis_conf = b.write("penalty-redis.properties", open(mem_conf).read()
                                 + "penalty-store = redis://127.0.0.1:%d\n" % rport)
            on, on_sock = b.start_daemon(rt, redis_conf, "daemon-redis")
            off, off_sock = b.start_daemon(rt, mem_conf, "daemon-memory")
            progress("PLAIN logins/s, daemon with the Redis penalty store and with memory, 64 connections x 8")
            rates = {"redis": [], "memory": []}
            for r in range(a.rounds + 1):  # the first round warms both up and is not counted
                for label in (("redis", "memory") if r % 2 == 0 else ("memory", "redis")):
                    rate = b.load_client(on_sock if label == "redis" else off_sock, 64, 8, a.logins, a.logins * 5)
                    if r > 0:
                        rates[label].append(rate)
            table.add("13 PLAIN logins/s, daemon, penalty-store redis (64 conns x 8)", "penalty-store memory",
                      statistics.median(rates["redis"]), statistics.median(rates["memory"]), "/s", ">= 0.8", False,
                      rt.label)
            # The latency the store adds: logins one at a time, alternating between the two daemons
            # login by login, so that the machine's noise falls on both alike.
            progress("PLAIN login latency one at a time, Redis penalty store and memory, alternating")
            conns = {"redis": Conn.of_socket(on_sock), "memory": Conn.of_socket(off_sock)}
            for c in conns.values():
                c.handshake()
            lines = plain_lines(plain, a.logins // 4)
            lat = {"redis": [], "memory": []}
            for i, line in enumerate(lines):
                for label in (("redis", "memory") if i % 2 == 0 else ("memory", "redis")):
                    t0 = time.perf_counter()
                    conns[label].send(line)
                    if not conns[label].read_line().startswith(b"OK\t"):
                        raise SystemExit("a login failed on the %s daemon" % label)
                    if i >= 200:  # after a warm-up
                        lat[label].append(time.perf_counter() - t0)
            for c in conns.values():
                c.close()
            p99 = {k: sorted(v)[int(len(v) * 0.99)] for k, v in lat.items()}
            progress("p99 %.3f ms with Redis, %.3f ms with memory (%d logins each)"
                     % (p99["redis"] * 1000, p99["memory"] * 1000, len(lat["redis"])))
            table.add("13 p99 login latency one at a time, penalty-store redis", "memory's p99 + 1 ms",
                      p99["redis"], p99["memory"] + 0.001, "ms", "<= 1.0", True, rt.label)
            b.stop_daemon(on)
            b.stop_daemon(off)
            for hrt in b.runtimes:
                progress("cold start with the Redis penalty store and without [%s]" % hrt.label)
                contestants = [("redis", b.saslauth_cmd(hrt, redis_conf)), ("memory", b.saslauth_cmd(hrt, mem_conf))]
                t = b.cold_start(contestants, a.starts)
                table.add("13 cold start to DONE, penalty-store redis (median of %d)" % a.starts, "penalty-store memory",
                          t["redis"], t["memory"], "ms", "<= 1.1", True, hrt.label)
        finally:
            stop_redis(redis)

    if "14" in only:
        # Issue 24: OAUTHBEARER logins/s through the daemon, the issuer's key cached, against PLAIN
        # from {PLAIN} entries on the same daemon, measured in turn; the tokens are real ones of
        # the tests' OpenID provider (src/test/oidc/idp.mjs), one per user.
        iport = free_port()
        idp_dir = b.path("idp")
        os.makedirs(idp_dir, exist_ok=True)
        idp = subprocess.Popen(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "oidc", "idp.mjs"), str(iport),
                                os.path.join(idp_dir, "keys.json")], stdout=subprocess.DEVNULL,
                               stderr=open(os.path.join(idp_dir, "idp.log"), "ab"))
        try:
            issuer = "http://127.0.0.1:%d" % iport
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", iport), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            progress("row 14: 100 access tokens from the OpenID provider")
            requests = []
            for i in range(100):
                token = oidc_token(issuer, "user%d" % i)
                msg = ("n,a=user%d@example.org,\x01auth=Bearer %s\x01\x01" % (i, token)).encode()
                requests.append("OAUTHBEARER\t" + base64.b64encode(msg).decode())
            req_file = b.write("oauthbearer.requests", "\n".join(requests) + "\n")
            rt = b.runtimes[0]
            tok_conf = b.write("oauth.properties", open(config("oauth-plain", b.path("plain.passwd"))).read()
                               .replace("mechanisms = PLAIN,LOGIN", "mechanisms = PLAIN,LOGIN,OAUTHBEARER")
                               + "oauth2-issuer = %s\noauth2-audience = urn:saslauth:mail\n" % issuer)
            d, dsock = b.start_daemon(rt, tok_conf, "daemon-oauth")
            progress("OAUTHBEARER and PLAIN logins/s on one daemon, 64 connections x 8")
            rates = {"OAUTHBEARER": [], "PLAIN": []}
            for r in range(a.rounds + 1):  # the first round warms both up and is not counted
                for label in (("OAUTHBEARER", "PLAIN") if r % 2 == 0 else ("PLAIN", "OAUTHBEARER")):
                    rate = b.load_client(dsock, 64, 8, a.logins, a.logins * 5,
                                         req_file if label == "OAUTHBEARER" else None)
                    if r > 0:
                        rates[label].append(rate)
            table.add("14 OAUTHBEARER logins/s, daemon, key cached (64 conns x 8)", "PLAIN {PLAIN}",
                      statistics.median(rates["OAUTHBEARER"]), statistics.median(rates["PLAIN"]), "/s", ">= 0.5",
                      False, rt.label)
            b.stop_daemon(d)
            for hrt in b.runtimes:
                progress("cold start with the token mechanisms listed and without [%s]" % hrt.label)
                contestants = [("tokens", b.saslauth_cmd(hrt, tok_conf)), ("plain", b.saslauth_cmd(hrt, plain_conf))]
                t = b.cold_start(contestants, a.starts)
                table.add("14 cold start to DONE, OAUTHBEARER listed (median of %d)" % a.starts, "PLAIN,LOGIN only",
                          t["tokens"], t["plain"], "ms", "none", True, hrt.label)
        finally:
            idp.terminate()
            idp.wait(10)

    if "15" in only:
        attack_rows(b, table)

    if "11" in only:
        # Issue 21: the daemon's PLAIN logins/s with metrics-listen set against without, two
        # daemons alive at once and measured in turn, a scrape of /metrics after each round.
        rt = b.runtimes[0]
        port = free_port()
        off_conf = config("metrics-off", b.path("all.passwd"), "PLAIN,LOGIN")
        on_conf = b.write("metrics-on.properties", open(off_conf).read() + "metrics-listen = tcp:127.0.0.1:%d\n" % port)
        on, on_sock = b.start_daemon(rt, on_conf, "daemon-metrics")
        off, off_sock = b.start_daemon(rt, off_conf, "daemon-plain")
        progress("PLAIN logins/s, daemon with and without metrics, 64 connections x 8 in flight")
        rates = {"on": [], "off": []}
        scraped = ""
        for r in range(a.rounds + 1):  # the first round warms both up and is not counted
            for label in (("on", "off") if r % 2 == 0 else ("off", "on")):
                rate = b.load_client(on_sock if label == "on" else off_sock, 64, 8, a.logins, a.logins * 5)
                if r > 0:
                    rates[label].append(rate)
            scraped = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
        ok = [l for l in scraped.splitlines()
              if l.startswith('saslauth_auth_requests_total{mechanism="PLAIN",result="ok"}')]
        if not ok:
            raise SystemExit("the daemon's /metrics has no PLAIN ok counter:\n" + scraped[:2000])
        progress("  /metrics: " + ok[0])
        table.add("11 PLAIN logins/s, daemon, metrics-listen set (64 conns x 8)", "without metrics",
                  statistics.median(rates["on"]), statistics.median(rates["off"]), "/s", ">= 0.95", False, rt.label)
        b.stop_daemon(on)
        b.stop_daemon(off)

    def helper(cmd):
        def connect():
            p = b.start(cmd)
            return Conn.of_process(p), lambda: b.finish("saslauth", p)
        return connect

    challenge_conf = config("challenge", b.path("challenge.passwd"), "PLAIN,CRAM-MD5,SCRAM-SHA-256")

    if "3" in only or "4" in only or "6" in only or "8" in only or "9" in only:
        progress("starting a throwaway dovecot")
        sock = b.start_dovecot(b.path("all.passwd"))

        def dovecot():
            c = Conn.of_socket(sock)
            return c, c.close

    if "3" in only:
        lines = lambda n, start: plain_lines(plain, n, start)
        for window, label, budget in ((64, "pipelined, 64 in flight", ">= 2.0"),
                                      (1, "one at a time", ">= 1.0")):
            progress("PLAIN logins/s, " + label)
            r = b.rate([("saslauth", helper(b.saslauth_cmd(b.runtimes[0], plain_conf))), ("dovecot", dovecot)], lines,
                       a.rounds, 2000 if window > 1 else 500, window)
            table.add("3 PLAIN logins/s, %s" % label, "Dovecot auth", r["saslauth"], r["dovecot"], "/s",
                      budget, False)

    if "4" in only:
        for rt in b.runtimes:  # on Java 22+ Argon2 goes through libsodium
            for scheme, (user, pw, h) in hashed.items():
                progress("latency of one %s login [%s]" % (scheme, rt.label))
                conf = config("h-" + scheme, b.write("h-%s.passwd" % scheme, "%s:%s\n" % (user.decode(), h)))
                line = lambda i, user=user, pw=pw: auth_line(i, "PLAIN", b"\0" + user + b"\0" + pw)
                lat = b.latency([("saslauth", helper(b.saslauth_cmd(rt, conf))), ("dovecot", dovecot)], line,
                                max(a.rounds // 2, 3), 3)
                # Issue 23: the crypt hashes through libxcrypt, as Dovecot's; Argon2 (libsodium on
                # Java 22+, Java below) keeps the budget of issue 15.
                crypt = scheme.endswith("CRYPT")
                table.add("4 latency of one {%s} login" % scheme, "Dovecot auth", lat["saslauth"], lat["dovecot"],
                          "ms", "<= 1.2" if crypt else "<= 1.0", True, rt.label)
                if lat["saslauth"] is not None:
                    first = {k: statistics.median(v) for k, v in b.first_login.items()}
                    table.add("4   first login on a new connection", "Dovecot auth", first["saslauth"],
                              first["dovecot"], "ms", "<= 2.0" if crypt else "none", True, rt.label)

    if "12" in only:
        # Issue 23: a yescrypt account of this host ($y$j9T$, Debian's default), made with useradd
        # and chpasswd -c YESCRYPT, through saslauth's passdb shadow (libxcrypt's crypt_rn) and
        # Dovecot 2.3's passdb shadow (getspnam and crypt), one login at a time.
        user, pw = "sabenchyes", "Bench-yescrypt-1"
        subprocess.run(["userdel", user], stderr=subprocess.DEVNULL)
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user], check=True)
        try:
            subprocess.run(["chpasswd", "-c", "YESCRYPT"], input=("%s:%s\n" % (user, pw)).encode(), check=True)
            shadow_conf = b.write("shadow.properties", "passdb = shadow\nfailure-delay = 0\nmax-auth-rate = 0\n"
                                  "log-file = %s\nlog-level = info\n" % log)
            ssock = b.start_dovecot(None, "dovecot-shadow", "  driver = shadow\n")

            def dovecot_shadow():
                c = Conn.of_socket(ssock)
                return c, c.close
            line = lambda i: auth_line(i, "PLAIN", b"\0" + user.encode() + b"\0" + pw.encode())
            for rt in b.runtimes:
                progress("latency of one yescrypt login, passdb shadow [%s]" % rt.label)
                lat = b.latency([("saslauth", helper(b.saslauth_cmd(rt, shadow_conf))), ("dovecot", dovecot_shadow)],
                                line, max(a.rounds // 2, 3), 3)
                table.add("12 latency of one yescrypt login, passdb shadow", "Dovecot passdb shadow", lat["saslauth"],
                          lat["dovecot"], "ms", "<= 1.2", True, rt.label)
                if lat["saslauth"] is not None:
                    first = {k: statistics.median(v) for k, v in b.first_login.items()}
                    table.add("12   first login on a new helper", "Dovecot passdb shadow", first["saslauth"],
                              first["dovecot"], "ms", "<= 2.0", True, rt.label)
        finally:
            subprocess.run(["userdel", user], stderr=subprocess.DEVNULL)

    # Rows 6 and 7: the same PLAIN users in PostgreSQL and in slapd, read by saslauth's passdb sql
    # and ldap (one helper, one connection) and by Dovecot's, without and with the auth cache.
    # Row 7 (issue 25) also drives the daemon from one client with 64 in flight, and asks more of
    # the daemon without the cache (daemon_budget).
    def passdb_rows(row, kind, saslauth_lines, dovecot_passdb, daemon_budget=None, one_client=False):
        lines = lambda n, start: plain_lines(plain, n, start)
        for cached, budget in ((False, ">= 1.0"), (True, ">= 2.0")):
            dbudget = daemon_budget if daemon_budget and not cached else budget
            label = "cache on both sides" if cached else "no cache"
            progress("%s: PLAIN logins/s, 64 in flight, %s" % (kind, label))
            name = "%s-%s" % (kind, "cache" if cached else "nocache")
            conf = b.write(name + ".properties", saslauth_lines + "failure-delay = 0\nmax-auth-rate = 0\n"
                           "log-file = %s\nlog-level = info\n" % log + ("cache-ttl = 3600s\n" if cached else ""))
            dsock = b.start_dovecot(None, "dovecot-" + name, dovecot_passdb,
                                    "auth_cache_size = 10M\nauth_cache_ttl = 1 hour\n" if cached else "")

            def dovecot_conn(dsock=dsock):
                c = Conn.of_socket(dsock)
                return c, c.close
            r = b.rate([("saslauth", helper(b.saslauth_cmd(b.runtimes[0], conf))), ("dovecot", dovecot_conn)], lines,
                       a.rounds, 1000, 64)
            table.add("%s %s PLAIN logins/s, 64 in flight, %s" % (row, kind, label), "Dovecot passdb " + kind,
                      r["saslauth"], r["dovecot"], "/s", budget, False)
            # The same store behind saslauth daemon, whose pool runs lookups side by side: 64
            # connections with 8 in flight each, driven by LoadClient against both servers.
            progress("%s: PLAIN logins/s, daemon, 64 connections x 8 in flight, %s" % (kind, label))
            dp, dsock_ours = b.start_daemon(b.runtimes[0], conf, "daemon-" + name)
            shapes = ([(1, 64, "1 conn x 64")] if one_client else []) + [(64, 8, "64 conns x 8")]
            d = {shape: {"saslauth": [], "dovecot": []} for shape in shapes}
            for rnd in range(a.rounds):
                for who in (("saslauth", "dovecot") if rnd % 2 == 0 else ("dovecot", "saslauth")):
                    for shape in shapes:
                        d[shape][who].append(b.load_client(dsock_ours if who == "saslauth" else dsock, shape[0],
                                                           shape[1], a.logins // 2, a.logins * 2))
            b.stop_daemon(dp)
            for shape in shapes:
                table.add("%s %s PLAIN logins/s, daemon, %s, %s" % (row, kind, shape[2], label),
                          "Dovecot passdb " + kind, statistics.median(d[shape]["saslauth"]),
                          statistics.median(d[shape]["dovecot"]), "/s", dbudget, False)

    if "6" in only:
        progress("starting a throwaway PostgreSQL")
        port = b.start_postgres(plain)
        b.write("dovecot-sql.conf.ext", "driver = pgsql\nconnect = host=127.0.0.1 port=%d dbname=postgres user=postgres\n"
                "default_pass_scheme = PLAIN\npassword_query = SELECT username AS user, password FROM mailbox"
                " WHERE username = '%%u' AND active = '1'\n" % port, 0o644)
        passdb_rows("6", "sql",
                    "passdb = sql\nsql-url = jdbc:postgresql://127.0.0.1:%d/postgres\nsql-user = postgres\n"
                    "password-query = SELECT username AS user, password FROM mailbox WHERE username = %%u AND active = '1'\n"
                    % port,
                    "  driver = sql\n  args = %s\n" % b.path("dovecot-sql.conf.ext"))

    if "7" in only:
        progress("starting a throwaway slapd")
        port = b.start_slapd(plain)
        b.write("dovecot-ldap.conf.ext", "uris = ldap://127.0.0.1:%d\nbase = dc=example,dc=org\n"
                "pass_filter = (&(objectClass=inetOrgPerson)(uid=%%u))\npass_attrs = uid=user,userPassword=password\n"
                "default_pass_scheme = PLAIN\n" % port, 0o644)
        passdb_rows("7", "ldap",
                    "passdb = ldap\nldap-url = ldap://127.0.0.1:%d\nldap-base = dc=example,dc=org\n"
                    "ldap-user-filter = (&(objectClass=inetOrgPerson)(uid=%%u))\n" % port,
                    "  driver = ldap\n  args = %s\n" % b.path("dovecot-ldap.conf.ext"), ">= 1.2", True)

    if "8" in only:
        # One connection, 8 exchanges in flight; the driver's own work (HMACs, and for {PLAIN}
        # entries the PBKDF2 a client must do) is the same against both servers.
        rows = (("CRAM-MD5 on {PLAIN} entries", lambda u, p: cram_md5(u, p), plain, ">= 1.0"),
                ("SCRAM-SHA-256 on {SCRAM-SHA-256} entries", lambda u, p: scram_sha256(u, p, salted), scram,
                 ">= 1.0"),
                ("SCRAM-SHA-256 on {PLAIN} entries", lambda u, p: scram_sha256(u, p, None), plain, "none"))
        for label, make, users, budget in rows:
            salted = {}
            n = a.challenge_logins if budget != "none" else max(a.challenge_logins // 10, 100)
            progress("%s logins/s, 8 in flight" % label)
            starts = [make(u, p) for u, p in users]

            def rate(connect):
                c, done = connect()
                c.handshake()
                c.exchanges(lambda i: starts[i % len(starts)](i), min(n // 5, 500), 8)  # warm-up
                seconds, fails = c.exchanges(lambda i: starts[i % len(starts)](i), n, 8)
                done()
                if fails:
                    raise SystemExit("%s: %d logins failed" % (label, fails))
                return n / seconds

            r = {"saslauth": [], "dovecot": []}
            for rnd in range(a.rounds):
                order = [("saslauth", helper(b.saslauth_cmd(b.runtimes[0], challenge_conf))), ("dovecot", dovecot)]
                for name, connect in (order if rnd % 2 == 0 else order[::-1]):
                    r[name].append(rate(connect))
            table.add("8 %s logins/s, 8 in flight" % label, "Dovecot auth", statistics.median(r["saslauth"]),
                      statistics.median(r["dovecot"]), "/s", budget, False)

    if "9" in only:
        daemon_rows(a, b, table, plain, hashed, sock, dovecot, plain_lines(plain, 1)[0],
                    b.saslauth_cmd(b.runtimes[0], plain_conf), config)

    if "5" in only:
        progress("OREORE logins/s, pipelined")

        def ruby():
            p = b.start(b.ruby_cmd())
            return Conn.of_process(p), lambda: b.finish("ruby", p)

        r = b.rate([("saslauth", helper(b.saslauth_cmd(b.runtimes[0], oreore_conf))), ("ruby", ruby)],
                   lambda n, start: oreore_lines(n, start), a.rounds, 2000, 64)
        table.add("5 OREORE logins/s, pipelined 64", "Ruby oreore.rb", r["saslauth"], r["ruby"], "/s",
                  ">= 2.0", False)


def daemon_rows(a, b, table, plain, hashed, dovecot_sock, dovecot, login, spawn_cmd, config):
    """Row 9: saslauth daemon (one JVM for every client, on a socket) against Dovecot's auth
    server, both serving the same passwd file."""
    rt = b.runtimes[0]
    conf = config("daemon", b.path("all.passwd"), "PLAIN,LOGIN")

    def daemon_conn(sock):
        def connect():
            c = Conn.of_socket(sock)
            return c, c.close
        return connect

    # Memory: a new daemon and a new Dovecot per round, each with 30 and then 1,000 clients
    # connected, each client after one login. Dovecot's auth process is its peer; all of
    # Dovecot's processes are shown too.
    progress("PSS with 30 and 1000 clients connected")
    pss = {(who, n): [] for who in ("saslauth", "dovecot", "dovecot-all") for n in (30, 1000)}
    for r in range(3):
        for who in (("saslauth", "dovecot") if r % 2 == 0 else ("dovecot", "saslauth")):
            if who == "saslauth":
                p, target = b.start_daemon(rt, conf)
            else:
                target = b.start_dovecot(b.path("all.passwd"), "dovecot-memory-%d" % r)
            for n in (30, 1000):
                conns = hold_clients(target, n, login)
                time.sleep(0.5)
                if who == "saslauth":
                    pss[(who, n)].append(pss_kb(p.pid))
                else:
                    auth, total = dovecot_pss_kb(target)
                    pss[(who, n)].append(auth)
                    pss[("dovecot-all", n)].append(total)
                for c in conns:
                    c.close()
                time.sleep(0.2)
            if who == "saslauth":
                b.stop_daemon(p)
            else:
                b.stop_one_dovecot(b.dovecot_conf)
    m = {k: statistics.median(v) for k, v in pss.items()}
    progress("PSS of 30 spawned helpers alive at once, for comparison")
    spawn = b.pss_many([("spawn", spawn_cmd, login)], 30, 3)["spawn"] * 30
    for n in (30, 1000):
        what = "9 daemon PSS, %d clients connected" % n
        table.add(what, "Dovecot auth process", m[("saslauth", n)], m[("dovecot", n)], "MiB", "none", True, rt.label)
        table.add(what, "all Dovecot processes", m[("saslauth", n)], m[("dovecot-all", n)], "MiB", "none", True, rt.label)
    table.add("9 daemon PSS, 30 clients connected", "30 spawned helpers (sum)", m[("saslauth", 30)], spawn, "MiB",
              "<= 0.1", True, rt.label)
    table.add("9 daemon PSS, 1000 clients connected", "80 MiB (limit)", m[("saslauth", 1000)], 80 * 1024, "MiB",
              "<= 1.0", True, rt.label)

    # One daemon for the rest of the row, as it would run: warmed up by what it serves.
    p, sock = b.start_daemon(rt, conf)

    progress("connect to the 220 banner through Postfix (a new smtpd per session)")
    # Two more services for the servers started fresh below, through a symbolic link each: a new
    # server per round behind the same smtpd_sasl_path. They point at the warm servers until then
    # (an smtpd that finds no auth server dies, and master throttles its service).
    fresh_links = {"fresh saslauth": b.path("fresh-saslauth.link"), "fresh dovecot": b.path("fresh-dovecot.link")}
    os.symlink(sock, fresh_links["fresh saslauth"])
    os.symlink(dovecot_sock, fresh_links["fresh dovecot"])
    ports = b.start_postfix(dict({"saslauth": sock, "dovecot": dovecot_sock}, **fresh_links))
    times = {"saslauth": [], "dovecot": []}
    for label in ports:  # the first sessions start Postfix's own services
        b.banner(ports[label])
    for r in range(a.banners):
        for label in (("saslauth", "dovecot") if r % 2 == 0 else ("dovecot", "saslauth")):
            times[label].append(b.banner(ports[label]))
    table.add("9 connect to 220 banner through Postfix (median of %d)" % a.banners, "Dovecot auth",
              statistics.median(times["saslauth"]), statistics.median(times["dovecot"]), "ms", "<= 1.2", True, rt.label)
    fresh_banners(a, b, table, rt, conf, ports, fresh_links)

    progress("PLAIN logins/s, 64 connections with 8 in flight each")
    rates = {"saslauth": [], "dovecot": []}
    for r in range(a.rounds):
        for label in (("saslauth", "dovecot") if r % 2 == 0 else ("dovecot", "saslauth")):
            rates[label].append(b.load_client(sock if label == "saslauth" else dovecot_sock, 64, 8,
                                              a.logins * 2, a.logins * 10))
    table.add("9 PLAIN logins/s, 64 connections x 8 in flight", "Dovecot auth", statistics.median(rates["saslauth"]),
              statistics.median(rates["dovecot"]), "/s", ">= 2.0", False, rt.label)

    # The same memory figure once both have served those logins: a long-lived JVM has by then
    # touched all of its young generation and compiled its hot code.
    progress("PSS with 1000 clients connected, after %d logins" % (a.rounds * a.logins * 12))
    conns = hold_clients(sock, 1000, login)
    time.sleep(0.5)
    ours = pss_kb(p.pid)
    for c in conns:
        c.close()
    conns = hold_clients(dovecot_sock, 1000, login)
    time.sleep(0.5)
    theirs, _ = dovecot_pss_kb(dovecot_sock)
    for c in conns:
        c.close()
    what = "9 daemon PSS, 1000 clients, after %dk logins" % (a.rounds * a.logins * 12 // 1000)
    table.add(what, "Dovecot auth process", ours, theirs, "MiB", "none", True, rt.label)
    table.add(what, "80 MiB (limit)", ours, 80 * 1024, "MiB", "<= 1.0", True, rt.label)

    # Hashed logins once the daemon is warm (its C2 compiler has compiled the hash loops), on
    # every runtime given: on Java 22 and later Argon2 goes through libsodium, as in Dovecot.
    warm = {"SHA512-CRYPT": 300, "BLF-CRYPT": 300, "ARGON2ID": 40}
    for hrt in b.runtimes:
        hp, hsock = (p, sock) if hrt is rt else b.start_daemon(hrt, conf, "daemon-" + hrt.feature)
        for scheme, (user, pw, h) in hashed.items():
            progress("latency of one %s login after %d to warm up [%s]" % (scheme, warm[scheme], hrt.label))
            line = lambda i, user=user, pw=pw: auth_line(i, "PLAIN", b"\0" + user + b"\0" + pw)
            for connect in (daemon_conn(hsock), dovecot):
                c, done = connect()
                c.handshake()
                _, fails = c.one_at_a_time([line(i + 1) for i in range(warm[scheme])])
                done()
                if fails:
                    raise SystemExit("%s: %d warm-up logins failed" % (scheme, fails))
            lat = b.latency([("saslauth", daemon_conn(hsock)), ("dovecot", dovecot)], line, max(a.rounds // 2, 3), 3)
            table.add("9 latency of one {%s} login, warm daemon" % scheme, "Dovecot auth", lat["saslauth"],
                      lat["dovecot"], "ms", "<= 1.5" if scheme == "ARGON2ID" else "<= 1.0", True, hrt.label)
        if hp is not p:
            b.stop_daemon(hp)

    # PLAIN logins one at a time on one connection while ARGON2ID logins run back to back on
    # as many others as there are CPUs. Dovecot's auth process checks one password at a time,
    # so its PLAIN logins wait; the row's limit is on saslauth's p99 alone.
    argon_user, argon_pw, _ = hashed["ARGON2ID"]
    argon = lambda i: auth_line(i, "PLAIN", b"\0" + argon_user + b"\0" + argon_pw)
    p99 = {}
    for label, target in (("saslauth", sock), ("dovecot", dovecot_sock)):
        progress("p99 of PLAIN logins while ARGON2ID logins run on %d other connections (%s)"
                 % (os.cpu_count(), label))
        p99[label], count, hashed_done = plain_under_load(target, plain, argon, os.cpu_count(), 3000, 20.0)
        progress("  %d PLAIN logins, %d ARGON2ID logins meanwhile" % (count, hashed_done))
    table.add("9 p99 PLAIN login while ARGON2ID runs on %d connections" % os.cpu_count(), "5 ms (limit)",
              p99["saslauth"], 0.005, "ms", "<= 1.0", True, rt.label)
    table.add("9 p99 PLAIN login while ARGON2ID runs on %d connections" % os.cpu_count(), "Dovecot auth",
              p99["saslauth"], p99["dovecot"], "ms", "none", True, rt.label)
    b.stop_daemon(p)


def fresh_banners(a, b, table, rt, conf, ports, links):
    """Row 9, the first sessions on a freshly started server: each round, for saslauth and
    Dovecot in turn (the first of them alternating), one session on each warm server's service,
    so that Postfix's own processes (anvil, postlogd, ...) are running and no first-use cost of
    Postfix falls on either; then a new server, its fresh service's link pointed at it, and
    --fresh-banners sessions on it one at a time from the moment it accepts its first connection,
    as the smtpd processes of a busy host connect to a server that has just been started."""
    progress("connect to the 220 banner through Postfix, first %d sessions on fresh servers" % a.fresh_banners)
    times = {"saslauth": [], "dovecot": []}
    first = {"saslauth": [], "dovecot": []}
    started = {"saslauth": [], "dovecot": []}
    warm = {label: os.readlink(link) for label, link in links.items()}
    for r in range(a.rounds):
        for label in (("saslauth", "dovecot") if r % 2 == 0 else ("dovecot", "saslauth")):
            b.banner(ports["saslauth"])
            b.banner(ports["dovecot"])
            link = links["fresh " + label]
            os.unlink(link)
            if label == "saslauth":
                p, target = b.start_daemon(rt, conf, "fresh-daemon-%d" % r)
            else:
                target = b.start_dovecot(b.path("all.passwd"), "dovecot-fresh-%d" % r)
            os.symlink(target, link)
            started[label].append(b.started_in)
            for i in range(a.fresh_banners):
                dt = b.banner(ports["fresh " + label])
                times[label].append(dt)
                if i == 0:
                    first[label].append(dt)
            if label == "saslauth":
                b.stop_daemon(p)
            else:
                b.stop_one_dovecot(b.dovecot_conf)
            os.unlink(link)
            os.symlink(warm["fresh " + label], link)  # the warm server again until the next round
    n = a.rounds * a.fresh_banners
    table.add("9 connect to 220 banner, first %d sessions on a fresh daemon (median of %d)" % (a.fresh_banners, n),
              "fresh Dovecot auth", statistics.median(times["saslauth"]), statistics.median(times["dovecot"]), "ms",
              "<= 1.2", True, rt.label)
    table.add("9 connect to 220 banner, first session on a fresh daemon (median of %d)" % a.rounds,
              "fresh Dovecot auth", statistics.median(first["saslauth"]), statistics.median(first["dovecot"]), "ms",
              "none", True, rt.label)
    table.add("9 daemon start to listening (median of %d)" % a.rounds, "Dovecot start",
              statistics.median(started["saslauth"]), statistics.median(started["dovecot"]), "ms", "none", True,
              rt.label)
    return times


def plain_under_load(sock, plain, hashed_line, hashers, logins, limit):
    """p99 seconds of PLAIN logins sent one at a time on one connection while `hashers` other
    connections send hashed logins back to back; stops after `logins` or `limit` seconds.
    Returns (p99, PLAIN logins done, hashed logins done)."""
    import threading
    stop = threading.Event()
    done = [0] * hashers
    errors = []

    def hasher(k):
        try:
            c = Conn.of_socket(sock)
            c.handshake()
            i = 0
            while not stop.is_set():
                i += 1
                c.send(hashed_line(i))
                if not c.read_line().startswith(b"OK\t"):
                    raise RuntimeError("a hashed login failed")
                done[k] += 1
            c.close()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=hasher, args=(k,), daemon=True) for k in range(hashers)]
    for t in threads:
        t.start()
    while sum(done) < hashers and not errors:  # every hasher under way
        time.sleep(0.05)
    c = Conn.of_socket(sock)
    c.handshake()
    lat = []
    end = time.perf_counter() + limit
    for i, line in enumerate(plain_lines(plain, logins)):
        t0 = time.perf_counter()
        c.send(line)
        if not c.read_line().startswith(b"OK\t"):
            raise SystemExit("%s: a PLAIN login failed under load" % sock)
        lat.append(time.perf_counter() - t0)
        if t0 > end:
            break
    c.close()
    stop.set()
    for t in threads:
        t.join(30)
    if errors:
        raise SystemExit("%s: %s" % (sock, errors[0]))
    lat.sort()
    return lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat), sum(done)


# --- row 15: the attack cases, saslauth against Dovecot 2.3 -------------------------------------

# saslauth's defaults the cases and the computed figures rest on: PenaltyPolicy.DEFAULTS and the
# failure delay and auth penalty of docs/security.md (see docs/penalty.md).
SASLAUTH_DEFAULTS = dict(window_min=15, ban_users=10, ban_passwords=20, ban_min=15, ban_max_h=24,
                         user_window_h=1, protect_addresses=20, protect_passwords=30, protect_h=1,
                         failure_delay_s=2, longest_delay_s=5)


def replay_guessing(pool, every, hours=24, d=SASLAUTH_DEFAULTS):
    """Guesses answered in each hour when distinct wrong passwords for one user come every
    `every` seconds for `hours`, from `pool` addresses in turn (None: each from a new one), by
    the rules of the memory store (MemoryStore.record) on the defaults: a banned address's
    attempt is refused and not counted; a protected user's attempt from an unknown network is
    refused and counted; any other is checked (answered) and counted."""
    window, ban_users, ban_guesses = d["window_min"] * 60, d["ban_users"], d["ban_passwords"]
    ban_first, ban_max = d["ban_min"] * 60, d["ban_max_h"] * 3600
    user_window, protect_addresses = d["user_window_h"] * 3600, d["protect_addresses"]
    protect_guesses, protect_time = d["protect_passwords"], d["protect_h"] * 3600
    addresses = {}
    u = dict(end=0, addresses=set(), guesses=set(), until=0)
    answered = [0] * hours
    n = 0
    while n * every < hours * 3600:
        t, n = n * every, n + 1
        source = n if pool is None else n % pool
        a = dict(end=0, users=set(), guesses=set(), until=0, nth=0, nth_until=0)
        if pool is not None:  # a new address each time has nothing to remember
            a = addresses.setdefault(source, a)
        if a["until"] > t:
            continue
        if u["until"] <= t:
            answered[int(t // 3600)] += 1
        if a["end"] <= t:
            a.update(end=t + window, users=set(), guesses=set())
        a["users"].add("victim")
        if len(a["guesses"]) < ban_guesses:
            a["guesses"].add(n)
        if len(a["users"]) >= ban_users or len(a["guesses"]) >= ban_guesses:
            a["nth"] = a["nth"] + 1 if a["nth_until"] > t else 1
            a["nth_until"] = t + ban_max
            a["until"] = t + min(ban_first * 2 ** (a["nth"] - 1), ban_max)
            a.update(users=set(), guesses=set(), end=0)
        if u["end"] <= t:
            u.update(end=t + user_window, addresses=set(), guesses=set())
        if len(u["addresses"]) < protect_addresses:
            u["addresses"].add(source)
        if len(u["guesses"]) < protect_guesses:
            u["guesses"].add(n)
        if len(u["addresses"]) >= protect_addresses or len(u["guesses"]) >= protect_guesses:
            u["until"] = t + protect_time
    return answered


def guessing_figures(pool):
    """(the most guesses an hour that trip nothing, every hour of a day; answered in the first
    hour and in 24 h when the guesses come as fast as answered: 64 sessions, 5 s each)."""
    steady = max(k for k in range(1, 61) if all(h == k for h in replay_guessing(pool, 3600 / k)))
    fast = replay_guessing(pool, 5 / 64)
    return steady, fast[0], sum(fast)


def attack_line(i, user, password, rip):
    return b"AUTH\t%d\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=%s\tresp=%s\n" % (
        i, rip.encode(), base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()))


class Target:
    """An auth server under attack, as the cases see it: its auth-client sockets (a connection
    goes to each in turn: three saslauth daemons sharing one Redis are three MX hosts) and the
    log files where saslauth says why it refused."""

    def __init__(self, name, socks, logs=()):
        self.name, self.socks, self.logs = name, socks, logs
        self.turn = 0
        self.lock = threading.Lock()

    def connect(self, k=None):
        with self.lock:
            if k is None:
                k, self.turn = self.turn, self.turn + 1
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(90)
        s.connect(self.socks[k % len(self.socks)])
        c = Conn(s.sendall, lambda: s.recv(1 << 16), s.close)
        c.fileno = s.fileno()
        c.handshake()
        return c

    def reason(self, user, rip):
        """saslauth's reason for the last refusal of user from rip, from its logs (None for Dovecot)."""
        found = None
        for log in self.logs:
            with open(log, errors="replace") as f:
                for line in f:
                    if "auth failed: rip=%s " % rip in line and ' user="%s" ' % user in line and "reason=" in line:
                        found = line.rsplit("reason=", 1)[1].strip().strip('"')
        return found


def login(c, user, password, rip):
    """One AUTH on c; (OK or not, seconds the client waited)."""
    t0 = time.perf_counter()
    c.send(attack_line(c.next_id, user, password, rip))
    c.next_id += 1
    ok = c.read_line().startswith(b"OK\t")
    return ok, time.perf_counter() - t0


def login_once(target, user, password, rip, k=None):
    c = target.connect(k)
    try:
        return login(c, user, password, rip)
    finally:
        c.close()


def in_parallel(fns):
    """Runs each function on a thread of its own; their results, in order (an exception raised
    by any is raised here)."""
    results, errors = [None] * len(fns), []

    def run_one(i):
        try:
            results[i] = fns[i]()
        except BaseException as e:  # raised below
            errors.append(e)
    threads = [threading.Thread(target=run_one, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def attempts(target, tries, connections, answered=None):
    """Sends tries, (user, password, rip) each, over `connections` connections, one at a time on
    each, as that many smtpd sessions do; calls answered() after each answer. Returns
    [(ok, seconds)] in the order of tries."""
    results = [None] * len(tries)

    def session(k):
        def run_session():
            c = target.connect()
            for j in range(k, len(tries), connections):
                results[j] = login(c, *tries[j])
                if answered:
                    answered()
            c.close()
        return run_session
    in_parallel([session(k) for k in range(min(connections, len(tries)))])
    return results


def guesses_in(target, seconds, connections, user, rip):
    """Distinct wrong passwords for one user from one address, `connections` sessions each
    sending its next guess once the last is answered, for `seconds`; the answers received by
    then (answers still on their way are not counted: the sessions are closed)."""
    end = time.perf_counter() + seconds
    counts = [0] * connections

    def session(k):
        def run_session():
            c = target.connect()
            n = 0
            try:
                while True:
                    left = end - time.perf_counter()
                    if left <= 0:
                        return
                    n += 1
                    c.send(attack_line(n, user, "dict-%d-%d" % (k, n), rip))
                    while b"\n" not in c.buf:  # waiting no longer than the period
                        r, _, _ = select.select([c.fileno], [], [], max(end - time.perf_counter(), 0))
                        if not r:
                            return
                        chunk = c.recv()
                        if not chunk:
                            raise EOFError("connection closed")
                        c.buf += chunk
                    c.read_line()
                    counts[k] += 1
            finally:
                c.close()
        return run_session
    in_parallel([session(k) for k in range(connections)])
    return sum(counts)


def wait_text(seconds):
    return "%.1f ms" % (seconds * 1000) if seconds < 1 else "%.1f s" % seconds


def answer_text(result):
    ok, seconds = result
    return "%s %s" % ("OK" if ok else "FAIL", wait_text(seconds))


def attack_users():
    """user -> password of row 15's passwd file: a few users per case, each case its own."""
    users = {"typo": "typo-Right-1", "mailbox": "mailbox-Right-1", "victim": "victim-Right-1",
             "roamok": "roamok-Right-1", "target": "target-Right-1", "warmup": "warmup-Right-1"}
    for prefix, n in (("phone", 3), ("colleague", 37), ("stuff", 100), ("neighbour", 5), ("roam", 10)):
        for i in range(n):
            users["%s%d" % (prefix, i)] = "%s-Right-%d" % (prefix, i)
    return users


def attack_rows(b, table):
    """Row 15: the attack cases of docs/penalty.md against one saslauth daemon with its defaults
    (memory store), three daemons sharing one redis-server (three MX hosts: connections go to
    each in turn) and Dovecot 2.3's auth server with its defaults (auth_failure_delay 2 s, its
    auth penalty), on the same passwd file; then guesses answered from one address."""
    t_row = time.perf_counter()
    users = attack_users()
    passwd = b.write("attack.passwd", "".join("%s:{PLAIN}%s\n" % u for u in users.items()))
    rt = b.runtimes[0]
    redis, procs, dovecot_conf = None, [], None

    def daemon(name, extra=""):
        log = b.path(name + ".log")
        conf = b.write(name + ".properties", "passwd-file = %s\nlog-file = %s\nlog-level = info\n%s"
                       % (passwd, log, extra))
        p, sock = b.start_daemon(rt, conf, "daemon-" + name)
        procs.append(p)
        return sock, log

    try:
        progress("row 15: a redis-server, 4 saslauth daemons with their defaults and Dovecot with its defaults")
        redis, rport = start_redis()
        sock, log = daemon("attack-memory")
        memory = Target("saslauth, memory", [sock], [log])
        shared = [daemon("attack-redis-" + n, "penalty-store = redis://127.0.0.1:%d\n" % rport) for n in "ABC"]
        redis_t = Target("saslauth, Redis", [s for s, _ in shared], [l for _, l in shared])
        dovecot = Target("Dovecot 2.3", [b.start_dovecot(passwd, "dovecot-attack", failure_delay=None)])
        dovecot_conf = b.dovecot_conf
        targets = [memory, redis_t, dovecot]
        # A server in use has its code loaded and compiled: 200 right logins on each socket
        # first, each from an address of its own (saslauth's daemon answers at most
        # max-auth-rate, 100, a second from one address).
        for t in targets:
            for k in range(len(t.socks) * 4):
                c = t.connect(k)
                for j in range(50):
                    if not login(c, "warmup", users["warmup"], "172.16.%d.%d" % (k, j + 1))[0]:
                        raise SystemExit("%s: a login to warm up failed" % t.name)
                c.close()

        def side_by_side(what, case):
            progress("row 15: " + what)
            t0 = time.perf_counter()
            r = in_parallel([lambda t=t: case(t) for t in targets])
            progress("  %.1f s" % (time.perf_counter() - t0))
            return dict(zip((t.name for t in targets), r))

        rows = []  # (case, {target: text}, saslauth should, {target: ok})

        def add(case, results, should, text=answer_text, ok=lambda r: r[0]):
            rows.append((case, {k: text(v) for k, v in results.items()}, should,
                         {k: ok(v) for k, v in results.items()}))

        # 1. A typo, then the right password, on one smtpd session.
        def typo(t):
            c = t.connect()
            login(c, "typo", "typo-Rihgt-1", "198.51.100.7")
            r = login(c, "typo", users["typo"], "198.51.100.7")
            c.close()
            return r
        add("1 a typo, then the right password", side_by_side("1 a typo, then the right password", typo), "OK")

        # 2. An office behind one NAT address: 3 phones retry their stale passwords 5 times each
        # (a new session each time), then 37 colleagues log in at once.
        office = "203.0.113.7"

        def office_case(t):
            def phone(k):
                return lambda: [login_once(t, "phone%d" % k, "stale-%d" % k, office) for _ in range(5)]
            in_parallel([phone(k) for k in range(3)])
            return in_parallel([lambda i=i: login_once(t, "colleague%d" % i, users["colleague%d" % i], office)
                                for i in range(37)])

        def office_text(rs):
            waits = sorted(s for _, s in rs)
            oks = sum(1 for ok, _ in rs if ok)
            return "%s %d/%d, longest %s (median %s)" % ("OK" if oks == len(rs) else "FAIL", oks, len(rs),
                                                         wait_text(waits[-1]), wait_text(statistics.median(waits)))
        add("2 an office behind one NAT address: 3 phones retry stale passwords 5 times each, then 37 colleagues "
            "log in at once", side_by_side("2 an office behind one NAT address", office_case), "OK",
            office_text, lambda rs: all(ok for ok, _ in rs))

        # 3. One address fails on 100 distinct users (50 sessions at once, Postfix's
        # smtpd_client_connection_count_limit), then a right password from it.
        stuffer = "192.0.2.66"

        def stuffing(t):
            attempts(t, [("stuff%d" % i, "guess-%d" % i, stuffer) for i in range(100)], 50)
            return login_once(t, "mailbox", users["mailbox"], stuffer)
        stuffed = side_by_side("3 one address failing on 100 users, then a right password", stuffing)
        add("3 one address fails on 100 users (50 sessions at once), then a right password from it", stuffed,
            "FAIL")

        # 4-6. The owner logs in from her usual address; then one wrong password each from 300
        # addresses, over 100 sessions at once (Postfix's default_process_limit); halfway through
        # she logs in again from her usual address; then the right password from a new address,
        # and 5 other users from the botnet's addresses.
        home, bots = "198.51.100.20", ["10.15.%d.%d" % (i // 200, i % 200 + 1) for i in range(300)]

        def botnet(t):
            if not login_once(t, "victim", users["victim"], home)[0]:
                raise SystemExit("%s: the owner's login before the attack failed" % t.name)
            count, halfway, lock, out = [0], threading.Event(), threading.Lock(), {}

            def answered():
                with lock:
                    count[0] += 1
                    if count[0] >= 150:
                        halfway.set()

            def attack():
                t0 = time.perf_counter()
                attempts(t, [("victim", "guess-%d" % i, bots[i]) for i in range(300)], 100, answered)
                out["attack"] = time.perf_counter() - t0

            def owner():
                if not halfway.wait(300):
                    raise SystemExit("%s: the attack did not get halfway" % t.name)
                out["owner"] = login_once(t, "victim", users["victim"], home)
            in_parallel([attack, owner])
            out["new"] = login_once(t, "victim", users["victim"], "10.99.0.1")
            out["others"] = in_parallel([lambda i=i: login_once(t, "neighbour%d" % i, users["neighbour%d" % i],
                                                                bots[i]) for i in range(5)])
            return out
        botted = side_by_side("4-6 one user failed from 300 addresses", botnet)
        add("4 one user failed from 300 addresses (100 sessions at once), then the right password from a new "
            "address", {k: v["new"] for k, v in botted.items()}, "FAIL")
        add("5 the owner from her usual address, halfway through that attack",
            {k: v["owner"] for k, v in botted.items()}, "OK")
        add("6 other users from the botnet's addresses (5, at once), after it", {k: v["others"] for k, v in botted.items()},
            "OK", office_text, lambda rs: all(ok for ok, _ in rs))

        # 7. The ban across processes: 10 users failed from one address on daemon A, then the
        # right password from it on daemon B.
        progress("row 15: 7 a ban made on daemon A, then a login from that address on daemon B")
        roamer = "192.0.2.77"
        in_parallel([lambda i=i: login_once(redis_t, "roam%d" % i, "guess-%d" % i, roamer, 0) for i in range(10)])
        across = login_once(redis_t, "roamok", users["roamok"], roamer, 1)
        rows.append(("7 the ban made on daemon A (10 users failed from one address), at its next login on "
                     "daemon B", {memory.name: "n/a (one process)", redis_t.name: answer_text(across),
                                  dovecot.name: "n/a (one auth process)"}, "FAIL", {redis_t.name: across[0]}))

        # Guesses answered: 60 s of distinct wrong passwords for one user from one address, 64
        # sessions at once, against Dovecot and against the memory daemon at the same time.
        period, conns, guesser = 60, 64, "192.0.2.99"
        progress("row 15: guesses answered in %d s, %d sessions from one address, one user" % (period, conns))
        got = dict(zip(("dovecot", "saslauth"), in_parallel(
            [lambda: guesses_in(dovecot, period, conns, "target", guesser),
             lambda: guesses_in(memory, period, conns, "target", guesser)])))
        time.sleep(0.5)  # the log's last lines
        checked = refused = 0
        with open(memory.logs[0], errors="replace") as f:
            for line in f:
                if "rip=%s " % guesser in line:
                    checked += 'reason="wrong password"' in line
                    refused += 'reason="address banned"' in line

        # Why saslauth refused what it refused, from its logs.
        for case, target, user, rip in (("3", memory, "mailbox", stuffer), ("3", redis_t, "mailbox", stuffer),
                                         ("4", memory, "victim", "10.99.0.1"), ("4", redis_t, "victim", "10.99.0.1"),
                                         ("7", redis_t, "roamok", roamer)):
            why = target.reason(user, rip)
            for r in rows:
                if r[0].startswith(case + " ") and why and r[1][target.name].startswith("FAIL"):
                    r[1][target.name] += " (%s)" % why.split(":")[0]

        for p in list(procs):
            b.stop_daemon(p)
            procs.remove(p)
        seconds = time.perf_counter() - t_row
        table.sections.append(attack_table(rows, [t.name for t in targets], stuffed, botted, got, checked, refused,
                                           period, conns, seconds))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p in b.daemons:
                b.daemons.remove(p)
        if dovecot_conf in b.dovecots:
            stop_dovecot_by_pid(b, dovecot_conf)
        if redis is not None:
            stop_redis(redis)


def stop_dovecot_by_pid(b, conf):
    """Stops the Dovecot of conf, and kills its master by pid if it is still there 10 s later."""
    pid_file = os.path.join(os.path.dirname(conf), os.path.basename(conf)[:-len(".conf")] + "-run", "master.pid")
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        pid = None
    b.stop_one_dovecot(conf)
    for _ in range(100):
        if pid is None or not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.1)
    os.kill(pid, 9)


def attack_table(rows, names, stuffed, botted, got, checked, refused, period, conns, seconds):
    """Row 15's two tables, in markdown: the cases, and the guesses answered."""
    head = ["case"] + names + ["saslauth should", ""]
    body = []
    for case, cells, should, oks in rows:
        wrong = any(("OK" if ok else "FAIL") != should for name, ok in oks.items() if name.startswith("saslauth"))
        body.append([case] + [cells[n] for n in names] + [should, "WRONG" if wrong else "ok"])
    d = SASLAUTH_DEFAULTS
    bans, m = [], d["ban_min"]
    while True:
        bans.append(m)
        if m >= d["ban_max_h"] * 60:
            break
        m = min(m * 2, d["ban_max_h"] * 60)
    ban_text = ", ".join("%d min" % x if x < 60 else "%d h" % (x // 60) for x in bans)
    by = dict(zip(("memory", "redis", "dovecot"), names))
    botnet_s = botted[by["dovecot"]]["attack"]

    def computed(pool):
        steady, first, day = guessing_figures(pool)
        return ("%d an hour, hour after hour, trip nothing; as fast as answered: %d in the first hour, %d in 24 h"
                % (steady, first, day))

    def per_hour(n, seconds):
        return format(int(round(n * 3600 / seconds, -2)), ",")
    guesses = [
        ["from one address", computed(1),
         "in %d s, %d sessions: %d answered, then banned (%d refused unchecked)" % (period, conns, checked, refused),
         "~%s an hour (extrapolated from %d answered in %d s, %d sessions)" % (per_hour(got["dovecot"], period),
                                                                              got["dovecot"], period, conns)],
        ["from a botnet of 10 addresses", computed(10), "not measured", "not measured (no per-user limit)"],
        ["from a botnet, a new address each guess", computed(None),
         "case 4: the user protected, the right password from a new address refused",
         "~%s an hour (extrapolated from 300 answered in %.1f s, 100 sessions, case 4); grows with the sessions"
         % (per_hour(300, botnet_s), botnet_s)],
        ["how long a banned address waits", "%s: each new ban within %d h doubles it; every AUTH FAIL, unchecked"
         % (ban_text, d["ban_max_h"]),
         "case 3: its right password FAIL after %s" % wait_text(stuffed[by["memory"]][1]),
         "no ban; each attempt first waits 4, 8, 15 s after 1, 2, 3 failures (case 3: its right password OK "
         "after %s)" % wait_text(stuffed[by["dovecot"]][1])],
    ]
    return (md_table(head, body) + "\n\n"
            + md_table(["guesses answered at one user", "saslauth, computed from the defaults",
                        "saslauth, measured", "Dovecot 2.3, measured"], guesses)
            + "\n\nrow 15 took %.0f s" % seconds)


def md_table(head, body):
    widths = [max(len(r[i]) for r in body + [head]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in body])


if __name__ == "__main__":
    main()
