#!/bin/sh
# llm-health installer (deploy/README.md `deploy`). Run from a built checkout (`npm ci` builds dist/).
#
#   sudo sh deploy/install.sh                 # agent + coordinator + CLI on this host
#   sudo sh deploy/install.sh --agent-only    # GPU host: one-file agent, agent unit, check timer
#   DESTDIR=/tmp/stage sh deploy/install.sh   # stage for packaging: touches nothing live
#   sh deploy/install.sh --dry-run            # print every action, change nothing
#   sudo sh deploy/install.sh --uninstall     # remove what it installed; configs and state stay
#
# Environment: DESTDIR (staging root, default empty = live install), PREFIX (default /usr/local).
#
# Layout ($PREFIX = /usr/local):
#   $PREFIX/bin/llm-health                     launcher: full CLI when installed, else the one-file agent
#   $PREFIX/lib/llm-health/llm-health-agent.mjs   one-file agent (agent, check, config validate)
#   $PREFIX/lib/llm-health/{package.json,dist/,node_modules/}   full CLI (production dependencies only)
#   $PREFIX/share/llm-health/                  cron.d/, sudoers/, examples/ (reference copies)
#   /etc/systemd/system/llm-health-{agent,coordinator,check}.service, llm-health-check.timer
#   /etc/polkit-1/rules.d/50-llm-health.rules  (kept when present: it holds this host's unit list)
#   /etc/logrotate.d/llm-health, /etc/tmpfiles.d/llm-health.conf
#   /etc/llm-health/{agent.yaml,seed.yaml,coordinator.yaml,agent.env,coordinator.env}
#                                              (never overwritten; a differing new version goes to *.new)
#
# With DESTDIR set it never calls systemctl, useradd or anything else that touches the live
# system, and changes no ownership. Without DESTDIR it must run as root: it then also creates the
# `llm-health` system user if missing and the seed's log file, and prints (does not run) the
# systemctl commands that enable the services.
set -eu

usage() {
	cat <<'EOF'
usage: [DESTDIR=DIR] [PREFIX=/usr/local] sh deploy/install.sh [--agent-only] [--dry-run] [--uninstall]

  --agent-only   GPU host: the one-file agent (needs only node), llm-health-agent.service,
                 llm-health-check.service/.timer; no coordinator, no full CLI tree
  --dry-run      print every action (files written, kept or removed, commands), change nothing
  --uninstall    remove the program, units, polkit rule, logrotate and tmpfiles entries;
                 keep /etc/llm-health (configs, secrets), state, logs and the llm-health user
  -h, --help     this help
EOF
}

AGENT_ONLY=0
DRY=0
UNINSTALL=0
for arg in "$@"; do
	case "$arg" in
	--agent-only) AGENT_ONLY=1 ;;
	--dry-run) DRY=1 ;;
	--uninstall) UNINSTALL=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "install.sh: unknown argument: $arg" >&2
		usage >&2
		exit 2
		;;
	esac
done

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
case "$PREFIX" in
/*) ;;
*)
	echo "install.sh: PREFIX must be an absolute path, got '$PREFIX'" >&2
	exit 2
	;;
esac
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || PREFIX=/usr
if [ -n "$DESTDIR" ]; then
	case "$DESTDIR" in
	/*) ;;
	*) DESTDIR=$(pwd)/$DESTDIR ;;
	esac
	DESTDIR=${DESTDIR%/}
fi

SRC=$(cd "$(dirname "$0")/.." && pwd)
DEPLOY=$SRC/deploy
BIN_PATH=$PREFIX/bin/llm-health
LIB=$PREFIX/lib/llm-health
SHARE=$PREFIX/share/llm-health
D_LIB=$DESTDIR$LIB
D_SHARE=$DESTDIR$SHARE
D_ETC=$DESTDIR/etc
BUNDLE=$SRC/dist/llm-health-agent.mjs
CLI=$SRC/dist/cli/main.js
LIVE=0
[ -n "$DESTDIR" ] || LIVE=1

say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: WARNING: %s\n' "$*" >&2; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

if [ "$LIVE" = 1 ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
	die "changing the live system needs root (or set DESTDIR=... to stage the files, or --dry-run to see what would be done)"
fi
# "would remove X" under --dry-run, "removed X" otherwise
did() { if [ "$DRY" = 1 ]; then say "would $1 $2"; else say "$3 $2"; fi; }

# act CMD...: run a command that changes the system, or only say it under --dry-run
act() {
	if [ "$DRY" = 1 ]; then say "would run: $*"; else "$@"; fi
}

# remove PATH: one installed file (and say so)
remove() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		[ "$DRY" = 1 ] || rm -f "$1"
		did remove "$1" removed
	fi
}

# Units, polkit rule, logrotate and tmpfiles entries, launcher, program and reference trees go;
# /etc/llm-health (configs, secrets), state and logs stay: they are the operator's.
uninstall() {
	for u in llm-health-agent.service llm-health-check.service llm-health-check.timer llm-health-coordinator.service; do
		f=$D_ETC/systemd/system/$u
		[ -f "$f" ] || continue
		if ! grep -q '^# Part of llm-health' "$f"; then
			say "keeping $f: not installed by llm-health"
		elif [ -f "$f.orig" ]; then
			[ "$DRY" = 1 ] || mv -f "$f.orig" "$f"
			did restore "$f from $f.orig (the unit it had replaced)" restored
		else
			remove "$f"
		fi
	done
	remove "$D_ETC/polkit-1/rules.d/50-llm-health.rules"
	remove "$D_ETC/polkit-1/rules.d/50-llm-health.rules.new"
	remove "$D_ETC/logrotate.d/llm-health"
	remove "$D_ETC/tmpfiles.d/llm-health.conf"
	remove "$DESTDIR$BIN_PATH"
	for d in "$D_LIB" "$D_SHARE"; do
		case "$d" in */lib/llm-health | */share/llm-health) ;; *) die "refusing to remove unexpected directory $d" ;; esac
		if [ -d "$d" ]; then
			[ "$DRY" = 1 ] || rm -rf "$d"
			did remove "$d/ (the whole tree)" removed
		fi
	done
	echo
	if [ "$DRY" = 1 ]; then echo "install.sh --uninstall --dry-run: nothing was changed."; fi
	echo "Kept: $D_ETC/llm-health/ (configs and secrets), /var/lib/llm-health/"
	echo "(state), /var/log/llm_health_check.log and /var/log/llm-health/ (logs), the llm-health user."
	echo "Units still enabled or running keep their links: before uninstalling, or now,"
	echo "  systemctl disable --now llm-health-agent.service llm-health-check.timer llm-health-coordinator.service"
	echo "  systemctl daemon-reload"
}

if [ "$UNINSTALL" = 1 ]; then
	uninstall
	exit 0
fi

command -v node >/dev/null 2>&1 || [ "$LIVE" = 0 ] || warn "node is not on PATH: the services need Node.js 20+ as 'node' (see $BIN_PATH)"

HAVE_BUNDLE=0
[ -f "$BUNDLE" ] && HAVE_BUNDLE=1
if [ "$AGENT_ONLY" = 1 ]; then
	[ "$HAVE_BUNDLE" = 1 ] || die "$BUNDLE is missing: build it first (npm run build; LLMH_BUNDLE_STRICT=1 node scripts/bundle-agent.mjs shows why it fails)"
else
	[ -f "$CLI" ] || die "$CLI is missing: build the project first (npm ci, or npm install && npm run build)"
	[ "$HAVE_BUNDLE" = 1 ] || warn "$BUNDLE is missing (the agent bundle did not build): installing the full CLI only"
fi

# --- helpers ---------------------------------------------------------------------------------

# Generated files (units, launcher, cron line, privilege files) are written here first, then
# installed with put like the others; it lies outside DESTDIR and goes at exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/llm-health-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# put SRC DEST MODE: copy one file, replacing DEST
put() {
	if [ "$DRY" = 1 ]; then
		say "would install $2 (mode $3)"
		return
	fi
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.tmp.$$"
	chmod "$3" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

# put_unit SRC DEST: a systemd unit, with /usr/local/bin/llm-health rewritten for PREFIX. A unit
# of the same name not written by llm-health (the seed's llm-health-check.service/.timer ran
# the bash script) is kept as DEST.orig.
put_unit() {
	if [ -f "$2" ] && ! grep -q '^# Part of llm-health' "$2"; then
		[ "$DRY" = 1 ] || cp "$2" "$2.orig"
		if [ "$DRY" = 1 ]; then
			warn "$2 was not installed by llm-health (the seed's unit?): would save it as $2.orig and replace it"
		else
			warn "$2 was not installed by llm-health (the seed's unit?): saved as $2.orig and replaced"
		fi
	fi
	sed "s#/usr/local/bin/llm-health#$BIN_PATH#g" "$1" >"$WORK/unit"
	put "$WORK/unit" "$2" 0644
}

# put_config SRC DEST MODE: install unless DEST exists (then a differing version goes to DEST.new)
NEW_CONFIGS=
put_config() {
	if [ -e "$2" ]; then
		if cmp -s "$1" "$2"; then
			say "keeping $2 (unchanged)"
		else
			put "$1" "$2.new" "$3"
			say "keeping your $2; the new version is $2.new"
		fi
	else
		put "$1" "$2" "$3"
		NEW_CONFIGS="$NEW_CONFIGS $2"
		[ "$DRY" = 1 ] || say "installed $2"
	fi
}

# prod_deps: package directories (relative to SRC) of package.json's production dependencies,
# transitively, resolved the way node does (nearest node_modules upwards). Optional
# dependencies that are not installed are skipped; a missing required one is an error.
prod_deps() {
	node - "$SRC" <<'EOF'
const { existsSync, readFileSync } = require('node:fs');
const { join, dirname, relative } = require('node:path');
const root = process.argv[2];
const seen = new Set();
const missing = [];
const read = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
function find(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const cand = join(dir, 'node_modules', name);
    if (existsSync(join(cand, 'package.json'))) return cand;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}
function walk(dir, pkg) {
  const optional = { ...pkg.optionalDependencies };
  const names = { ...pkg.dependencies, ...optional };
  for (const [name, meta] of Object.entries(pkg.peerDependenciesMeta ?? {})) if (meta?.optional) optional[name] = true;
  for (const name of Object.keys(pkg.peerDependencies ?? {})) names[name] = true;
  for (const name of Object.keys(names)) {
    const at = find(name, dir);
    if (!at) {
      if (!(name in optional)) missing.push(`${name} (needed by ${pkg.name ?? 'llm-health'})`);
      continue;
    }
    if (seen.has(at)) continue;
    seen.add(at);
    walk(at, read(at));
  }
}
walk(root, read(root));
if (missing.length) {
  console.error(`missing production dependencies: ${missing.join(', ')} (run npm ci)`);
  process.exit(1);
}
const dirs = [...seen].map((d) => relative(root, d)).sort();
// a package nested inside another listed one is copied with it
for (const d of dirs) if (!dirs.some((o) => o !== d && d.startsWith(`${o}/`))) console.log(d);
EOF
}

# --- program files ---------------------------------------------------------------------------

if [ "$HAVE_BUNDLE" = 1 ]; then
	put "$BUNDLE" "$D_LIB/llm-health-agent.mjs" 0755
	[ "$DRY" = 1 ] || say "installed $D_LIB/llm-health-agent.mjs"
fi

if [ "$AGENT_ONLY" = 0 ]; then
	command -v node >/dev/null 2>&1 || die "node is needed to work out the production dependencies"
	DEPS=$(prod_deps) || die "could not list the production dependencies"
	# replace the previous tree as a whole so no stale module survives an upgrade
	case "$D_LIB" in */lib/llm-health) ;; *) die "refusing to clean unexpected directory $D_LIB" ;; esac
	NPKG=$(printf '%s\n' "$DEPS" | grep -c .)
fi

if [ "$AGENT_ONLY" = 0 ] && [ "$DRY" = 1 ]; then
	say "would install $D_LIB/dist/ (the compiled CLI, replacing the previous tree)"
	say "would install $D_LIB/node_modules/ ($NPKG production packages, replacing the previous tree)"
	say "would install $D_LIB/package.json (mode 0644)"
elif [ "$AGENT_ONLY" = 0 ]; then
	mkdir -p "$D_LIB"
	rm -rf "$D_LIB/dist" "$D_LIB/node_modules" "$D_LIB/package.json"
	mkdir -p "$D_LIB/dist"
	for d in "$SRC"/dist/*; do
		case "${d##*/}" in
		test | bench | llm-health-agent.mjs | *.tmp-*) ;; # tests, benchmarks and the bundle stay out
		*) cp -R "$d" "$D_LIB/dist/" ;;
		esac
	done
	find "$D_LIB/dist" -name '*.map' -type f -exec rm -f {} +
	chmod 0755 "$D_LIB/dist/cli/main.js"
	cp "$SRC/package.json" "$D_LIB/package.json"
	chmod 0644 "$D_LIB/package.json"
	for d in $DEPS; do
		mkdir -p "$D_LIB/$(dirname "$d")"
		cp -R "$SRC/$d" "$D_LIB/$d"
	done
	# node-gyp intermediates of native addons (better-sqlite3): only the .node file is needed
	find "$D_LIB/node_modules" -type d \( -name obj.target -o -name obj -o -name .deps \) -path '*/build/Release/*' -prune -exec rm -rf {} +
	find "$D_LIB/node_modules" -type f -path '*/build/Release/*.a' -exec rm -f {} +
	rm -rf "$D_LIB/node_modules/.bin" "$D_LIB/node_modules/.package-lock.json"
	say "installed the CLI into $D_LIB ($NPKG production packages)"
fi

# launcher: the full CLI when installed, else the one-file agent
cat >"$WORK/launcher" <<EOF
#!/bin/sh
# llm-health launcher, written by deploy/install.sh. Runs the full CLI when it is installed,
# else the one-file agent (agent, check, config validate). LLM_HEALTH_NODE picks the node binary.
LIB='$LIB'
# relocated tree (staged with DESTDIR, copied elsewhere): fall back to ../lib next to this file
[ -d "\$LIB" ] || LIB=\$(cd "\$(dirname "\$0")/../lib/llm-health" 2>/dev/null && pwd) || LIB='$LIB'
NODE=\${LLM_HEALTH_NODE:-node}
if [ -f "\$LIB/dist/cli/main.js" ]; then
	exec "\$NODE" "\$LIB/dist/cli/main.js" "\$@"
fi
exec "\$NODE" "\$LIB/llm-health-agent.mjs" "\$@"
EOF
put "$WORK/launcher" "$DESTDIR$BIN_PATH" 0755
[ "$DRY" = 1 ] || say "installed $DESTDIR$BIN_PATH"

# --- systemd, polkit, logrotate, tmpfiles ----------------------------------------------------

UNITDIR=$D_ETC/systemd/system
put_unit "$DEPLOY/llm-health-agent.service" "$UNITDIR/llm-health-agent.service"
put_unit "$DEPLOY/llm-health-check.service" "$UNITDIR/llm-health-check.service"
put_unit "$DEPLOY/llm-health-check.timer" "$UNITDIR/llm-health-check.timer"
if [ "$AGENT_ONLY" = 0 ]; then
	put_unit "$DEPLOY/llm-health-coordinator.service" "$UNITDIR/llm-health-coordinator.service"
fi
[ "$DRY" = 1 ] || say "installed units into $UNITDIR"

put "$DEPLOY/logrotate/llm-health" "$D_ETC/logrotate.d/llm-health" 0644
put "$DEPLOY/tmpfiles/llm-health.conf" "$D_ETC/tmpfiles.d/llm-health.conf" 0644

# reference copies: the cron line and the sudoers variant are opt-in (never activated here)
sed "s#/usr/local/bin/llm-health#$BIN_PATH#g" "$DEPLOY/llm-health.cron" >"$WORK/cron"
put "$WORK/cron" "$D_SHARE/cron.d/llm-health" 0644
for f in "$DEPLOY"/examples/*; do
	put "$f" "$D_SHARE/examples/${f##*/}" 0644
done

# --- configuration ---------------------------------------------------------------------------

CONF=$D_ETC/llm-health
HAD_AGENT_CONFIG=0
[ -f "$CONF/agent.yaml" ] && HAD_AGENT_CONFIG=1
if [ "$DRY" = 1 ]; then
	[ -d "$CONF" ] || say "would create directory $CONF (mode 0755)"
else
	mkdir -p "$CONF"
	chmod 0755 "$CONF"
fi
put_config "$DEPLOY/examples/agent.yaml" "$CONF/agent.yaml" 0640
put_config "$DEPLOY/examples/seed.yaml" "$CONF/seed.yaml" 0640
put_config "$DEPLOY/examples/agent.env" "$CONF/agent.env" 0600
if [ "$AGENT_ONLY" = 0 ]; then
	put_config "$DEPLOY/examples/coordinator.yaml" "$CONF/coordinator.yaml" 0640
	put_config "$DEPLOY/examples/coordinator.env" "$CONF/coordinator.env" 0600
fi

# --- privileges --------------------------------------------------------------------------------

# The polkit rule and the sudoers file list the units the agent may restart. For a host that
# already has its agent.yaml they are generated from it (`llm-health deploy`); the shipped
# ones hold the example's units.
RULE_SRC=$DEPLOY/polkit/50-llm-health.rules
SUDOERS_SRC=$DEPLOY/sudoers/llm-health
if [ "$HAD_AGENT_CONFIG" = 1 ]; then
	if [ -f "$CLI" ]; then GEN=$CLI; else GEN=$BUNDLE; fi
	for what in polkit sudoers; do
		if command -v node >/dev/null 2>&1 && node "$GEN" deploy "$what" -c "$CONF/agent.yaml" >"$WORK/$what" 2>"$WORK/$what.err"; then
			say "generated the $what file from the units of $CONF/agent.yaml (in $WORK)"
			if [ "$what" = polkit ]; then RULE_SRC=$WORK/polkit; else SUDOERS_SRC=$WORK/sudoers; fi
		else
			warn "cannot generate the $what file from $CONF/agent.yaml ($(head -n 3 "$WORK/$what.err" 2>/dev/null | tr '\n' ' ')): installing the shipped one"
		fi
	done
fi
put_config "$RULE_SRC" "$D_ETC/polkit-1/rules.d/50-llm-health.rules" 0644
put "$SUDOERS_SRC" "$D_SHARE/sudoers/llm-health" 0440

# A kept rule (the operator's, or an older one) may lack units agent.yaml restarts: warn.
RULE=$D_ETC/polkit-1/rules.d/50-llm-health.rules
UNITS=
[ ! -f "$CONF/agent.yaml" ] || [ ! -f "$RULE" ] ||
	UNITS=$(sed -n 's/^[[:space:]]*-\{0,1\}[[:space:]]*unit:[[:space:]]*["'\'']\{0,1\}\([A-Za-z0-9_@:.-]*\).*/\1/p' "$CONF/agent.yaml")
for u in $UNITS; do
	grep -q "\"$u\"" "$RULE" || warn "unit $u (in $CONF/agent.yaml) is not listed in $RULE: the agent will not be allowed to restart it (llm-health deploy polkit -c /etc/llm-health/agent.yaml writes a rule that does)"
done

# --- live system only ------------------------------------------------------------------------

if [ "$LIVE" = 1 ]; then
	if [ "$DRY" = 1 ] && ! getent passwd llm-health >/dev/null 2>&1; then
		say "would create the system user llm-health (useradd --system, group systemd-journal)"
	elif ! getent passwd llm-health >/dev/null 2>&1; then
		if getent group systemd-journal >/dev/null 2>&1; then JOURNAL_GROUP="--groups systemd-journal"; else JOURNAL_GROUP=; fi
		NOLOGIN=/usr/sbin/nologin
		[ -x "$NOLOGIN" ] || NOLOGIN=/sbin/nologin
		# shellcheck disable=SC2086 # JOURNAL_GROUP is two words or none
		useradd --system --user-group --home-dir /var/lib/llm-health --no-create-home \
			--shell "$NOLOGIN" --comment 'llm-health agent' $JOURNAL_GROUP llm-health
		say "created system user llm-health"
	fi
	# config files readable by the service user, secrets (env files) by root only
	for f in $NEW_CONFIGS; do
		case "$f" in
		*.yaml) act chgrp llm-health "$f" ;;
		esac
	done
	# the seed's log file (ReadWritePaths= in the units, >> in the cron line)
	LOG=/var/log/llm_health_check.log
	[ -e "$LOG" ] || act touch "$LOG"
	act chown llm-health "$LOG"
	act chgrp adm "$LOG" 2>/dev/null || true
	act chmod 0640 "$LOG"
	command -v pkaction >/dev/null 2>&1 || [ -x /usr/lib/polkit-1/polkitd ] || [ -x /usr/libexec/polkitd ] ||
		warn "polkit is not installed: the agent cannot restart units (Debian 12: apt install polkitd)"
fi

# --- next steps ------------------------------------------------------------------------------

if [ "$DRY" = 1 ]; then
	echo
	echo "install.sh --dry-run: nothing was changed."
	exit 0
fi

ROOT_NOTE=
[ "$LIVE" = 1 ] || ROOT_NOTE=" (staged in $DESTDIR; on the target host, as root)"
echo
echo "llm-health installed$ROOT_NOTE. Next steps:"
if [ "$LIVE" = 0 ]; then
	echo "  getent passwd llm-health || useradd --system --user-group --home-dir /var/lib/llm-health --no-create-home --shell /usr/sbin/nologin --groups systemd-journal llm-health"
	echo "  systemd-tmpfiles --create /etc/tmpfiles.d/llm-health.conf"
fi
echo "  edit /etc/llm-health/agent.yaml (services, units, coordinator) and agent.env (token), then"
echo "  write the polkit rule for its units and check the config:"
echo "  $BIN_PATH deploy polkit -c /etc/llm-health/agent.yaml > /etc/polkit-1/rules.d/50-llm-health.rules"
echo "  $BIN_PATH config validate -c /etc/llm-health/agent.yaml"
echo "  (standalone like the seed script: cp /etc/llm-health/seed.yaml /etc/llm-health/agent.yaml)"
echo
echo "  systemctl daemon-reload && systemctl enable --now llm-health-agent.service"
echo "  # or, instead of the agent daemon, the seed-compatible check every 5 minutes:"
echo "  systemctl daemon-reload && systemctl enable --now llm-health-check.timer"
echo "  # or the cron variant: cp $SHARE/cron.d/llm-health /etc/cron.d/llm-health"
if [ "$AGENT_ONLY" = 0 ]; then
	echo "  # coordinator (one per fleet; edit /etc/llm-health/coordinator.yaml and coordinator.env first):"
	echo "  systemctl daemon-reload && systemctl enable --now llm-health-coordinator.service"
fi
echo "  # after an upgrade: systemctl daemon-reload && systemctl try-restart llm-health-agent.service llm-health-coordinator.service"
