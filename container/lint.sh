#!/usr/bin/env bash
# Lint the container examples without a Docker engine or a cluster.
#
# Usage: container/lint.sh
#
# * Dockerfile.*: hadolint when it is installed (it is not packaged in Debian's apt); always a
#   structural check: FROM first, installs ca-certificates (+ the NSS tools), copies the binary
#   to /usr/local/bin/anchorage, ENV ANCHORAGE_SOURCES is the guide-000 path, ENTRYPOINT in
#   exec (JSON) form is `anchorage exec ... --`, CMD in exec form, and a comment names the
#   binary build the base image needs (glibc 2.17 portable build, or static musl for Alpine).
# * compose.yaml: parses as YAML; the external named volume `ca-certificates` is mounted
#   read-only at /usr/local/share/ca-certificates/custom in sensor-agent-1, sensor-agent-2 and
#   telemetry-collector, each with ANCHORAGE_SOURCES naming it, the secrets.yaml bind mount and
#   the guide's json-file logging options. `docker compose config -q` too when available.
# * kubernetes-node.yaml: parses as YAML; one DaemonSet tolerating every taint whose container
#   runs `anchorage watch --root R --metrics R/….prom SOURCE`, R the node's / (hostPath), each
#   SOURCE a read-only ConfigMap/Secret mount (no subPath) defined in the file; root, not
#   privileged.
# * kubernetes.yaml: parses as YAML; a ConfigMap or Secret holding a PEM CA is mounted read-only
#   at the guide's path; each Deployment container's command starts with `anchorage exec` and
#   contains `--`, with the agent in args.
# YAML checks need Python's PyYAML (`python3 -c 'import yaml'`; `pip install pyyaml`); without
# it they are skipped with a message (not counted as passed).
#
# Prints `ok - …` / `not ok - …` per check and `N passed, M failed` as the last line; exits 1
# if any check failed.
set -uo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v python3 >/dev/null 2>&1; then
    echo "not ok - python3 is required for the structural checks"
    echo "0 passed, 1 failed"
    exit 1
fi

exec python3 - "$DIR" <<'PYEOF'
import json
import os
import re
import shutil
import subprocess
import sys

DIR = sys.argv[1]
GUIDE_PATH = "/usr/local/share/ca-certificates/custom"
passed = failed = skipped = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}" + (f": {detail}" if detail else ""))
    return cond


def skip(what, why):
    global skipped
    skipped += 1
    print(f"# SKIP {what}: {why}")


# ---------------------------------------------------------------------------------------
# Dockerfiles
def instructions(text):
    """(KEYWORD, arguments) pairs: continuation lines joined, comments and directives dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):  # comment lines inside a continuation are ignored
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        kw, _, rest = cur.partition(" ")
        out.append((kw.upper(), rest.strip()))
        cur = ""
    if cur:
        kw, _, rest = cur.partition(" ")
        out.append((kw.upper(), rest.strip()))
    return out


def exec_form(arg):
    try:
        v = json.loads(arg)
    except ValueError:
        return None
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return v
    return None


def env_pairs(arg):
    """ENV K=V [K2=V2 ...] or the legacy ENV K V."""
    if "=" not in arg.split(" ", 1)[0]:
        k, _, v = arg.partition(" ")
        return {k: v.strip().strip('"')}
    pairs = {}
    for m in re.finditer(r'(\w+)=("([^"]*)"|\S*)', arg):
        pairs[m.group(1)] = m.group(3) if m.group(3) is not None else m.group(2)
    return pairs


EXPECT = {
    # suffix: (base image pattern, package-install command pattern, NSS tools package, binary note)
    "debian": (r"debian:bookworm-slim", r"apt-get\s+install", "libnss3-tools", "x86_64-unknown-linux-gnu.2.17"),
    "ubi": (r"registry\.access\.redhat\.com/ubi9/ubi-minimal", r"microdnf\s+install", "nss-tools", "x86_64-unknown-linux-gnu.2.17"),
    "alpine": (r"alpine(:[\w.]+)?", r"apk\s+add", "nss-tools", "musl"),
}

dockerfiles = sorted(f for f in os.listdir(DIR) if f.startswith("Dockerfile"))
check(set(f"Dockerfile.{k}" for k in EXPECT) <= set(dockerfiles), "Dockerfile.debian, Dockerfile.ubi, Dockerfile.alpine exist", ", ".join(dockerfiles))

hadolint = shutil.which("hadolint")
if not hadolint:
    print("# hadolint not installed (not in Debian's apt: `apt-cache policy hadolint` has no candidate); structural checks only")

for name in dockerfiles:
    path = os.path.join(DIR, name)
    text = open(path, encoding="utf-8").read()
    ins = instructions(text)
    kinds = [k for k, _ in ins]
    flavour = name.split(".", 1)[1] if "." in name else ""
    base_re, install_re, nss_pkg, binary_note = EXPECT.get(flavour, (r".+", r"install|add", "", ""))

    if hadolint:
        # Version pins are left to the image owner in these examples.
        r = subprocess.run([hadolint, "--ignore", "DL3008", "--ignore", "DL3018", "--ignore", "DL3041", path], capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: hadolint", (r.stdout + r.stderr).strip().replace("\n", " | "))

    first = next((i for i, k in enumerate(kinds) if k != "ARG"), None)
    check(first is not None and kinds[first] == "FROM", f"{name}: FROM is the first instruction")
    # ARG defaults before the first FROM resolve `FROM ${BASE}` (docker build --build-arg BASE=…).
    args = {}
    for k, a in ins:
        if k == "FROM":
            break
        if k == "ARG":
            n, _, v = a.partition("=")
            args[n.strip()] = v.strip().strip('"')
    resolve = lambda w: re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), w)
    froms = [resolve(a.split()[0]) for k, a in ins if k == "FROM" and a.split()]
    check(bool(froms) and re.fullmatch(base_re, froms[-1]) is not None, f"{name}: base image matches {base_re}", str(froms))

    runs = [a for k, a in ins if k == "RUN"]
    check(any(re.search(install_re, r) and re.search(r"(^|\s)ca-certificates(\s|$)", r) for r in runs), f"{name}: installs ca-certificates")
    if nss_pkg:
        check(any(re.search(install_re, r) and re.search(rf"(^|\s){re.escape(nss_pkg)}(\s|$)", r) for r in runs), f"{name}: installs {nss_pkg}")

    copies = [a for k, a in ins if k in ("COPY", "ADD")]
    check(any(re.search(r"\sanchorage\s+/usr/local/bin/anchorage$|\s/usr/local/bin/anchorage$|^anchorage\s+/usr/local/bin/", c) for c in copies), f"{name}: copies the binary to /usr/local/bin/anchorage", str(copies))

    env = {}
    for k, a in ins:
        if k == "ENV":
            env.update(env_pairs(a))
    check(env.get("ANCHORAGE_SOURCES") == GUIDE_PATH, f"{name}: ENV ANCHORAGE_SOURCES={GUIDE_PATH}", repr(env.get("ANCHORAGE_SOURCES")))

    eps = [a for k, a in ins if k == "ENTRYPOINT"]
    ep = exec_form(eps[-1]) if eps else None
    ok_ep = (
        ep is not None
        and os.path.basename(ep[0]) == "anchorage"
        and len(ep) >= 3
        and ep[1] == "exec"
        and "--" in ep[2:]
    )
    check(ok_ep, f"{name}: ENTRYPOINT in exec (JSON) form: anchorage exec [SOURCE]... --", eps[-1] if eps else "no ENTRYPOINT")
    cmds = [a for k, a in ins if k == "CMD"]
    if cmds:
        check(exec_form(cmds[-1]) is not None, f"{name}: CMD in exec (JSON) form", cmds[-1])
    elif ep is not None:
        check(ep[-1] != "--", f"{name}: a PROGRAM follows `--` (in ENTRYPOINT or CMD)", str(ep))

    if binary_note:
        comments = "\n".join(l for l in text.splitlines() if l.lstrip().startswith("#"))
        check(binary_note in comments, f"{name}: a comment names the binary build it needs ({binary_note})")

# ---------------------------------------------------------------------------------------
# YAML
try:
    import yaml  # noqa: E402
except ImportError:
    yaml = None
    skip("compose.yaml and kubernetes.yaml checks", "PyYAML is not installed for python3 (pip install pyyaml)")


def load(name, multi=False):
    path = os.path.join(DIR, name)
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None] if multi else yaml.safe_load(f)
        check(True, f"{name}: parses as YAML")
        return docs
    except (OSError, yaml.YAMLError) as e:
        check(False, f"{name}: parses as YAML", str(e).replace("\n", " "))
        return None


def env_map(env):
    if isinstance(env, dict):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    out = {}
    for item in env or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def ca_mount(vol):
    """The guide's named volume, long or short syntax, read-only, at GUIDE_PATH."""
    if isinstance(vol, dict):
        return vol.get("type") == "volume" and vol.get("source") == "ca-certificates" and vol.get("target") == GUIDE_PATH and vol.get("read_only") is True
    parts = str(vol).split(":")
    return len(parts) == 3 and parts[0] == "ca-certificates" and parts[1] == GUIDE_PATH and "ro" in parts[2].split(",")


def secrets_mount(vol):
    if isinstance(vol, dict):
        return vol.get("type") == "bind" and str(vol.get("source", "")).endswith("secrets.yaml") and vol.get("target") == "/run/secrets/secrets.yaml"
    return str(vol).split(":")[1:2] == ["/run/secrets/secrets.yaml"]


if yaml is not None:
    compose = load("compose.yaml")
    if isinstance(compose, dict):
        vols = compose.get("volumes") or {}
        check(isinstance(vols.get("ca-certificates"), dict) and vols["ca-certificates"].get("external") is True, "compose.yaml: volume ca-certificates is external")
        services = compose.get("services") or {}
        for svc in ("sensor-agent-1", "sensor-agent-2", "telemetry-collector"):
            s = services.get(svc)
            if not check(isinstance(s, dict), f"compose.yaml: service {svc} exists"):
                continue
            volumes = s.get("volumes") or []
            check(any(ca_mount(v) for v in volumes), f"compose.yaml: {svc} mounts ca-certificates read-only at {GUIDE_PATH}")
            srcs = env_map(s.get("environment")).get("ANCHORAGE_SOURCES")
            check(srcs is not None and GUIDE_PATH in srcs.split(":"), f"compose.yaml: {svc} ANCHORAGE_SOURCES names {GUIDE_PATH}", repr(srcs))
            check(any(secrets_mount(v) for v in volumes), f"compose.yaml: {svc} bind-mounts secrets.yaml at /run/secrets/secrets.yaml")
            lg = s.get("logging") or {}
            opts = lg.get("options") or {}
            check(lg.get("driver") == "json-file" and str(opts.get("max-size")) == "10m" and str(opts.get("max-file")) == "3", f"compose.yaml: {svc} logging json-file max-size 10m max-file 3", repr(lg))
        for svc, s in services.items():
            ep = (s or {}).get("entrypoint")
            if ep is not None:
                ep = ep if isinstance(ep, list) else str(ep).split()
                check(len(ep) >= 3 and os.path.basename(ep[0]) == "anchorage" and ep[1] == "exec" and "--" in ep, f"compose.yaml: {svc} entrypoint is anchorage exec ... --", repr(ep))
        docker = shutil.which("docker")
        if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
            r = subprocess.run([docker, "compose", "-f", os.path.join(DIR, "compose.yaml"), "config", "-q"], capture_output=True, text=True)
            check(r.returncode == 0, "compose.yaml: docker compose config -q", r.stderr.strip())
        else:
            print("# docker compose not available: schema check skipped (structure checked above)")
    elif compose is not None:
        check(False, "compose.yaml: top level is a mapping")

    docs = load("kubernetes.yaml", multi=True)
    if docs is not None:
        sources = {}
        for d in docs:
            if isinstance(d, dict) and d.get("kind") in ("ConfigMap", "Secret"):
                sources[(d["kind"], (d.get("metadata") or {}).get("name"))] = d
        cms = [d for (k, _), d in sources.items() if k == "ConfigMap"]
        check(bool(sources), "kubernetes.yaml: defines a ConfigMap or Secret")
        for d in cms:
            data = d.get("data") or {}
            check(any("-----BEGIN CERTIFICATE-----" in str(v) for v in data.values()), f"kubernetes.yaml: ConfigMap {d['metadata'].get('name')} holds a PEM certificate")
        deps = [d for d in docs if isinstance(d, dict) and d.get("kind") == "Deployment"]
        check(bool(deps), "kubernetes.yaml: defines a Deployment")
        for dep in deps:
            spec = (((dep.get("spec") or {}).get("template") or {}).get("spec")) or {}
            volumes = {v.get("name"): v for v in spec.get("volumes") or []}
            dname = (dep.get("metadata") or {}).get("name")
            for c in spec.get("containers") or []:
                where = f"kubernetes.yaml: {dname}/{c.get('name')}"
                cmd = c.get("command") or []
                check(len(cmd) >= 3 and os.path.basename(str(cmd[0])) == "anchorage" and cmd[1] == "exec" and "--" in cmd[2:], f"{where}: command starts with anchorage exec and contains --", repr(cmd))
                check(bool(c.get("args")) or (cmd and cmd[-1] != "--"), f"{where}: the agent follows -- (args)")
                mounts = [m for m in c.get("volumeMounts") or [] if m.get("mountPath") == GUIDE_PATH]
                check(bool(mounts) and all(m.get("readOnly") is True for m in mounts), f"{where}: a volume is mounted read-only at {GUIDE_PATH}")
                for m in mounts:
                    v = volumes.get(m.get("name")) or {}
                    ref = ("ConfigMap", (v.get("configMap") or {}).get("name")) if "configMap" in v else ("Secret", (v.get("secret") or {}).get("secretName"))
                    check(ref in sources, f"{where}: the {GUIDE_PATH} volume is the {ref[0]} {ref[1]} defined in the file", repr(v))
                    check("subPath" not in m, f"{where}: no subPath on the CA mount (subPath mounts never see ConfigMap updates)")
                cmd_srcs = [a for a in cmd[2 : cmd.index("--")]] if "--" in cmd else []
                env_srcs = env_map({e.get("name"): e.get("value") for e in c.get("env") or []}).get("ANCHORAGE_SOURCES")
                check(GUIDE_PATH in cmd_srcs or (env_srcs is not None and GUIDE_PATH in env_srcs.split(":")), f"{where}: anchorage reads {GUIDE_PATH} (argument or ANCHORAGE_SOURCES)")

    # kubernetes-node.yaml: the DaemonSet of Kubernetes node mode (issue 17).
    docs = load("kubernetes-node.yaml", multi=True)
    if docs is not None:
        sources = {}
        for d in docs:
            if isinstance(d, dict) and d.get("kind") in ("ConfigMap", "Secret"):
                sources[(d["kind"], (d.get("metadata") or {}).get("name"))] = d
        dss = [d for d in docs if isinstance(d, dict) and d.get("kind") == "DaemonSet"]
        check(len(dss) == 1, "kubernetes-node.yaml: defines one DaemonSet")
        for ds in dss:
            spec = (((ds.get("spec") or {}).get("template") or {}).get("spec")) or {}
            volumes = {v.get("name"): v for v in spec.get("volumes") or []}
            check(any(t.get("operator") == "Exists" for t in spec.get("tolerations") or []), "kubernetes-node.yaml: tolerates every taint (every node)")
            for c in spec.get("containers") or []:
                where = f"kubernetes-node.yaml: {c.get('name')}"
                cmd = [str(a) for a in c.get("command") or []]
                check(len(cmd) >= 3 and os.path.basename(cmd[0]) == "anchorage" and cmd[1] == "watch", f"{where}: command is anchorage watch", repr(cmd))
                opt = lambda name: cmd[cmd.index(name) + 1] if name in cmd[:-1] else None
                mounts = {m.get("mountPath"): m for m in c.get("volumeMounts") or []}
                root = opt("--root")
                hm = mounts.get(root) if root else None
                hv = volumes.get((hm or {}).get("name")) or {}
                check(root is not None and (hv.get("hostPath") or {}).get("path") == "/", f"{where}: --root {root} is the node's / (hostPath)", repr(hv))
                check(hm is not None and not hm.get("readOnly"), f"{where}: the node's / is mounted writable")
                metrics = opt("--metrics")
                check(metrics is not None and root is not None and metrics.startswith(root.rstrip("/") + "/") and metrics.endswith(".prom"), f"{where}: --metrics writes a .prom file on the node ({metrics})")
                srcs = [a for a in cmd[2:] if not a.startswith("-") and a not in (root, metrics)]
                check(bool(srcs), f"{where}: a SOURCE is named", repr(cmd))
                for src in srcs:
                    m = mounts.get(src)
                    v = volumes.get((m or {}).get("name")) or {}
                    ref = ("ConfigMap", (v.get("configMap") or {}).get("name")) if "configMap" in v else ("Secret", (v.get("secret") or {}).get("secretName"))
                    check(m is not None and m.get("readOnly") is True, f"{where}: SOURCE {src} is a read-only mount")
                    check(ref in sources, f"{where}: SOURCE {src} is the {ref[0]} {ref[1]} defined in the file", repr(v))
                    check(m is not None and "subPath" not in m, f"{where}: no subPath on {src} (subPath mounts never see ConfigMap updates)")
                sc = c.get("securityContext") or {}
                check(sc.get("runAsUser") == 0 and not sc.get("privileged"), f"{where}: root, not privileged")

if skipped:
    print(f"# {skipped} group(s) skipped")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PYEOF
