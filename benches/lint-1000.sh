#!/usr/bin/env bash
# Benchmark of `unitpack lint` (issue 5): goal, 1,000 units linted in <= 100 ms.
#
#   units    1,000 generated unit files in one directory: `unitpack lint --units DIR`
#   recipe   one generated recipe with 1,000 units: `unitpack lint RECIPE` (YAML load,
#            model validation and lint), and the same recipe loaded without lint
#            (`unitpack render --only`), to show the recipe loader's share
#
# Each case is one process, timed end to end (start-up, reading, lint, printing), RUNS
# times; the median is printed. The goal is checked on the unit-file case (exit 1 when
# over). Usage, after `cargo build --release`:
#   benches/lint-1000.sh [RUNS]
# Environment: UNITPACK (binary, default target/release/unitpack).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${UNITPACK:-$top/target/release/unitpack}
runs=${1:-21}
[ -x "$bin" ] || { echo "build first: cargo build --release ($bin missing)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/units"
{
	printf 'package:\n  name: lint-bench\n  version: "1.0"\n'
	printf '  maintainer: bench <bench@example.org>\n  summary: 1000 units\n  license: MIT\n'
	printf '  depends: [dbus-user-session]\ntarget: ubuntu-xenial\nunits:\n'
} > "$work/recipe.yaml"
for i in $(seq -w 1 1000); do
	cat > "$work/units/bench$i.service" <<UNIT
[Unit]
Description=Benchmark unit $i for %u
After=dbus.service network.target
Wants=dbus.service
Documentation=man:bench$i(8)

[Service]
Type=simple
Environment=XDG_RUNTIME_DIR=/run/user/%U LANG=C
ExecStartPre=/bin/mkdir -p %h/.cache/bench$i
ExecStart=/usr/bin/bench$i --foreground --name=%n
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=default.target
UNIT
	cat >> "$work/recipe.yaml" <<UNIT
  - name: bench$i.service
    scope: user
    sections:
      Unit:
        Description: Benchmark unit $i for %u
        After: [dbus.service, network.target]
        Wants: dbus.service
      Service:
        Type: simple
        Environment: XDG_RUNTIME_DIR=/run/user/%U LANG=C
        ExecStartPre: /bin/mkdir -p %h/.cache/bench$i
        ExecStart: /usr/bin/bench$i --foreground --name=%n
        Restart: on-failure
        RestartSec: 2
        NoNewPrivileges: "yes"
        PrivateTmp: "yes"
      Install:
        WantedBy: default.target
UNIT
done

median_ms() { # command...: median wall time of RUNS runs, in milliseconds
	local times=() t0 t1
	for _ in $(seq "$runs"); do
		t0=$(date +%s%N)
		"$@" > /dev/null || true
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000 )))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

# Sanity: the generated units are clean, so the figure is not dominated by printing.
"$bin" lint --units "$work/units" --scope user --target ubuntu-xenial | tail -1
"$bin" lint "$work/recipe.yaml" | tail -1

units=$(median_ms "$bin" lint --units "$work/units" --scope user --target ubuntu-xenial)
recipe=$(median_ms "$bin" lint "$work/recipe.yaml")
# The same recipe loaded and one unit printed, without lint: the recipe's share.
load=$(median_ms "$bin" render "$work/recipe.yaml" --only bench0001.service)
echo "lint 1000 unit files:        median ${units} ms over $runs runs (goal <= 100 ms)"
echo "lint a recipe of 1000 units: median ${recipe} ms (of which loading the recipe without lint: ${load} ms)"
awk -v u="$units" 'BEGIN { exit !(u <= 100) }' || { echo "over the goal" >&2; exit 1; }
