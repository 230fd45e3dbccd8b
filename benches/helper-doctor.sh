#!/usr/bin/env bash
# Benchmark (not a test): median wall time of `unitpack-check doctor --root`
# on a fake root with a few unitpack packages, natively and, for the armhf
# build, under qemu-arm-static; plus the stripped armhf binary size.
#
#   benches/helper-doctor.sh [RUNS]      (default 300 runs each)
#
# Uses the binaries scripts/cross-build leaves in target/ (runs it if they are
# missing). Uses hyperfine when installed, else a shell loop (which adds the
# cost of forking `date`, so its numbers are an upper bound).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-300}
RUSTC=$(command -v rustc || echo "$HOME/.cargo/bin/rustc")
HOST=$("$RUSTC" -vV | sed -n 's/^host: //p')
HOST_BIN=target/$HOST/helper-release/unitpack-check
ARM_BIN=target/armhf-debian/armv7-unknown-linux-gnueabihf/helper-release/unitpack-check
if [ ! -x "$HOST_BIN" ] || [ ! -x "$ARM_BIN" ]; then
    scripts/cross-build >/dev/null
fi

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
put() { mkdir -p "$ROOT$(dirname "$1")"; printf '%b' "$2" >"$ROOT$1"; }
lnk() { mkdir -p "$ROOT$(dirname "$1")"; ln -sfn "$2" "$ROOT$1"; }
exe() { put "$1" '#!/bin/sh\n'; chmod 755 "$ROOT$1"; }

# A Debian-like base: logind, PAM, both buses, Debian's pulseaudio enabled globally,
# and a few dozen other enabled units to scan.
exe /lib/systemd/systemd-logind
put /etc/pam.d/login 'auth required pam_unix.so\n@include common-session\n'
put /etc/pam.d/common-session 'session required pam_unix.so\nsession optional pam_systemd.so\n'
put /usr/lib/systemd/user/dbus.service '[Service]\nExecStart=/usr/bin/dbus-daemon --session\n'
put /usr/lib/systemd/user/dbus.socket '[Socket]\nListenStream=%t/bus\n'
put /lib/systemd/system/dbus.service '[Service]\nExecStart=/usr/bin/dbus-daemon --system\n'
exe /usr/bin/dbus-daemon
exe /usr/bin/pulseaudio
put /usr/lib/systemd/user/pulseaudio.service '[Service]\nExecStart=/usr/bin/pulseaudio --daemonize=no\n'
put /usr/lib/systemd/user/pulseaudio.socket '[Socket]\nListenStream=%t/pulse/native\n'
lnk /etc/systemd/user/default.target.wants/pulseaudio.service /usr/lib/systemd/user/pulseaudio.service
lnk /etc/systemd/user/sockets.target.wants/pulseaudio.socket /usr/lib/systemd/user/pulseaudio.socket
for i in $(seq 1 30); do
    exe "/usr/sbin/daemon$i"
    put "/lib/systemd/system/daemon$i.service" "[Service]\nExecStart=/usr/sbin/daemon$i -f\n"
    lnk "/etc/systemd/system/multi-user.target.wants/daemon$i.service" "/lib/systemd/system/daemon$i.service"
done

# Five unitpack packages: user and system units, links, a takeover.
for p in 1 2 3 4 5; do
    pkg=bench-pkg$p
    m="format\t1\npackage\t$pkg\nprofile\tubuntu-xenial\nstrict\t0\nuser-bus-package\tdbus-user-session\n"
    for u in a b; do
        unit=${pkg}-$u.service
        put /usr/lib/systemd/user/$unit "[Unit]\nDescription=bench\nAfter=dbus.service\nWants=dbus.service\n[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%U\nExecStart=/usr/bin/pulseaudio\nExecStartPre=-/usr/bin/dbus-daemon --version\n[Install]\nWantedBy=default.target\n"
        lnk /etc/systemd/user/default.target.wants/$unit /usr/lib/systemd/user/$unit
        m="$m""unit\tuser\tglobal\t$unit\t/usr/lib/systemd/user/$unit\n"
        m="$m""link\t/etc/systemd/user/default.target.wants/$unit\t/usr/lib/systemd/user/$unit\n"
    done
    sys=${pkg}-sys.service
    put /lib/systemd/system/$sys "[Unit]\nRequires=dbus.service\n[Service]\nExecStart=/usr/sbin/daemon$p\n[Install]\nWantedBy=multi-user.target\n"
    lnk /etc/systemd/system/multi-user.target.wants/$sys /lib/systemd/system/$sys
    m="$m""unit\tsystem\tenable\t$sys\t/lib/systemd/system/$sys\n"
    m="$m""link\t/etc/systemd/system/multi-user.target.wants/$sys\t/lib/systemd/system/$sys\n"
    [ $p = 1 ] && m="$m""takeover\tuser\tpulseaudio.service\n"
    put /usr/share/unitpack/$pkg/manifest "$m"
done

"$HOST_BIN" doctor --root "$ROOT" | tail -1

# median_ms RUNS CMD... : prints the median wall time in ms.
median_ms() {
    local runs=$1
    shift
    if command -v hyperfine >/dev/null; then
        local json
        json=$(mktemp)
        hyperfine -N --warmup 10 --runs "$runs" -i --export-json "$json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1
        python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$json"
        rm -f "$json"
    else
        local t0 t1 times=()
        for _ in $(seq 1 "$runs"); do
            t0=$(date +%s%N)
            "$@" >/dev/null || true
            t1=$(date +%s%N)
            times+=($(( (t1 - t0) / 1000 )))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]/1000}'
    fi
}

tool=loop
command -v hyperfine >/dev/null && tool=hyperfine
echo "packages: 5 (15 units), other enabled units: 32, runs: $RUNS, timer: $tool"
echo "doctor median, native ($HOST): $(median_ms "$RUNS" "$HOST_BIN" doctor --root "$ROOT") ms"
if command -v qemu-arm-static >/dev/null; then
    echo "doctor median, armhf under qemu-arm-static: $(median_ms "$RUNS" qemu-arm-static "$ARM_BIN" doctor --root "$ROOT") ms"
else
    echo "doctor median, armhf: qemu-arm-static not installed"
fi
echo "stripped armhf binary: $(stat -c %s "$ARM_BIN") bytes"
