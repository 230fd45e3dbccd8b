#!/usr/bin/env python3
"""Helpers of benches/deb-build.sh (standard library only).

  helper.py payload DIR SIZE_MB FILES     deterministic payload files
  helper.py nfpm-yaml STAGE COMPRESSION   nfpm.yaml for a tree staged from a .deb
  helper.py hyperfine-merge OUT.json IN.json...   merge rounds: per-command times
  helper.py stats FILE                    median/mean/min of one number per line
"""
import json
import os
import random
import statistics
import sys


def payload(out, size_mb, nfiles):
    """Same seed -> same bytes on any machine (Python >= 3.9's Mersenne Twister
    randbytes/choices are stable). Each file is a sequence of 1-64 KiB chunks:
      40 % random bytes (incompressible, like already-compressed assets),
      20 % fresh text   (words of a 4096-word vocabulary, like logs or docs),
      40 % repeats      (slices of a 4 MiB text pool: duplicated content);
    xz -6 keeps roughly half of it."""
    size_mb, nfiles = int(size_mb), int(nfiles)
    rng = random.Random(20240101)
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(alphabet, k=rng.randint(2, 10))) for _ in range(4096)]
    pool = (" ".join(rng.choices(words, k=800_000)) + "\n").encode()[: 4 << 20]
    total = size_mb << 20
    os.makedirs(out, exist_ok=True)
    for i in range(nfiles):
        size = total // nfiles + (total % nfiles if i == nfiles - 1 else 0)
        parts, n = [], 0
        while n < size:
            ln = min(rng.randint(1 << 10, 64 << 10), size - n)
            r = rng.random()
            if r < 0.40:
                b = rng.randbytes(ln)
            elif r < 0.60:
                b = " ".join(rng.choices(words, k=ln // 5 + 1)).encode()[:ln].ljust(ln, b"\n")
            else:
                off = rng.randrange(len(pool) - ln)
                b = pool[off : off + ln]
            parts.append(b)
            n += ln
        with open(os.path.join(out, f"blob-{i:02d}.bin"), "wb") as f:
            f.write(b"".join(parts))


def control_fields(path):
    fields, key = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    return fields


def q(s):
    """A YAML scalar (a JSON string is a valid double-quoted YAML scalar)."""
    return json.dumps(s)


def nfpm_yaml(stage, compression):
    """nfpm.yaml describing exactly the files and scripts of STAGE/root (as staged by
    `dpkg-deb -x` + `dpkg-deb -e STAGE/root/DEBIAN`): same paths, modes, control
    fields and maintainer scripts."""
    root = os.path.join(stage, "root")
    debian = os.path.join(root, "DEBIAN")
    c = control_fields(os.path.join(debian, "control"))
    version = c["Version"]
    epoch = None
    if ":" in version:
        epoch, version = version.split(":", 1)
    release = None
    if "-" in version:
        version, release = version.rsplit("-", 1)
    synopsis, _, ext = c["Description"].partition("\n")
    ext_lines = [l[1:] if l.startswith(" ") else l for l in ext.split("\n")] if ext else []
    description = "\n".join([synopsis] + ["" if l == "." else l for l in ext_lines])
    conffiles = set()
    cf = os.path.join(debian, "conffiles")
    if os.path.exists(cf):
        conffiles = {l.strip() for l in open(cf) if l.strip()}
    out = []
    w = out.append
    w(f"name: {q(c['Package'])}")
    w(f"arch: {q(c['Architecture'])}")
    w("platform: linux")
    w(f"version: {q(version)}")
    w("version_schema: none")
    if release:
        w(f"release: {q(release)}")
    if epoch:
        w(f"epoch: {q(epoch)}")
    w(f"maintainer: {q(c['Maintainer'])}")
    w(f"description: {q(description)}")
    for key, field in [("section", "Section"), ("priority", "Priority"), ("homepage", "Homepage")]:
        if field in c:
            w(f"{key}: {q(c[field])}")
    w("license: \"see /usr/share/doc\"")
    for key, field in [("depends", "Depends"), ("recommends", "Recommends"), ("suggests", "Suggests"),
                       ("conflicts", "Conflicts"), ("breaks", "Breaks"), ("replaces", "Replaces"),
                       ("provides", "Provides")]:
        if field in c:
            w(f"{key}:")
            for rel in c[field].split(","):
                w(f"  - {q(rel.strip())}")
    w("deb:")
    w(f"  compression: {q(compression)}")
    w("contents:")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if os.path.join(dirpath, d) != debian)
        for name in sorted(filenames):
            src = os.path.join(dirpath, name)
            dst = "/" + os.path.relpath(src, root)
            mode = os.stat(src).st_mode & 0o7777
            w(f"  - src: {q(src)}")
            w(f"    dst: {q(dst)}")
            if dst in conffiles:
                w("    type: config")
            w(f"    file_info: {{mode: 0{mode:o}, owner: root, group: root}}")
    scripts = [(k, n) for k, n in [("preinstall", "preinst"), ("postinstall", "postinst"),
                                   ("preremove", "prerm"), ("postremove", "postrm")]
               if os.path.exists(os.path.join(debian, n))]
    if scripts:
        w("scripts:")
        for key, name in scripts:
            w(f"  {key}: {q(os.path.join(debian, name))}")
    print("\n".join(out))


def hyperfine_merge(out, *inputs):
    """Merge the JSON of several hyperfine rounds: name -> all wall times, and the
    mean user/system times weighted by runs."""
    merged = {}
    for path in inputs:
        for r in json.load(open(path))["results"]:
            m = merged.setdefault(r["command"], {"times": [], "user": 0.0, "system": 0.0})
            n = len(r["times"])
            m["times"] += r["times"]
            m["user"] += r["user"] * n
            m["system"] += r["system"] * n
    for m in merged.values():
        n = len(m["times"])
        m["user"] /= n
        m["system"] /= n
        m["median"] = statistics.median(m["times"])
        m["min"] = min(m["times"])
        m["mean"] = statistics.fmean(m["times"])
        m["stddev"] = statistics.stdev(m["times"]) if n > 1 else 0.0
        m["runs"] = n
    json.dump(merged, open(out, "w"), indent=1)
    # name median min mean stddev user system runs (seconds), one line per command
    for name, m in merged.items():
        print(name, *(f"{m[k]:.6f}" for k in ("median", "min", "mean", "stddev", "user", "system")), m["runs"])


def stats(path):
    xs = [float(l) for l in open(path) if l.strip()]
    print(f"{statistics.median(xs):.6f} {min(xs):.6f} {statistics.fmean(xs):.6f} {len(xs)}")


if __name__ == "__main__":
    cmds = {"payload": payload, "nfpm-yaml": nfpm_yaml, "hyperfine-merge": hyperfine_merge, "stats": stats}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
