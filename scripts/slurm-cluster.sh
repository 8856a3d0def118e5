#!/usr/bin/env bash
# A single-node Slurm 22.05 cluster from Debian 12's packages, without systemd, for the Slurm
# executor's tests (issue 11). Written from ../shared/notes/slurm-local.md; run as root.
#
#   scripts/slurm-cluster.sh start    install what is missing, start munged, slurmctld, slurmd
#                                     (each only if not already up), wait until the node is idle
#   scripts/slurm-cluster.sh status   exit 0 when the node answers, 3 when not; prints what runs
#   scripts/slurm-cluster.sh stop     cancel the jobs and stop exactly the daemons `start` started
#
# Two partitions on the one node: `low` (default; preemptable, PreemptMode=REQUEUE) and `high`
# (PriorityTier 10, never preempted): a job in `high` that needs the node's cores evicts `low` jobs.
# Accounting is off by default (squeue --json and `scontrol show job` give live state, and
# MinJobAge=3600 keeps finished jobs visible for an hour); ACCOUNTING=1 adds MariaDB + slurmdbd so
# plain `sacct` works, at 193 MB of disk, ~2 s of start-up and two more resident daemons.
#
# Environment: ABLATE_SLURM_DIR (state, spool, logs, pid files; default /var/lib/ablate-slurm),
# ACCOUNTING=1, SLURM_CPUS (CPUs the node declares; default nproc).
#
# Pitfalls handled (see the recipe):
#  - PID 1 does not reap here, so a killed daemon stays <defunct> and pgrep still matches it:
#    liveness is read from /proc/PID/stat (state Z = gone), never from pgrep.
#  - Client commands block ~10 s while slurmctld is down: every client call is under `timeout`.
#  - slurmctld dies ("no TRES") if it starts before slurmdbd serves: slurmdbd first, wait for its port.
#    `CREATE USER IF NOT EXISTS` keeps a stale password: ALTER USER sets it every time.
#  - CR_Core_Memory with no memory configured gives each job the whole node: CR_Core.
#  - Default scheduler cycles make preemption take ~38 s: bf_interval=2,sched_interval=2.
#  - `--signal` is delivered to the batch shell only with preempt_send_user_signal on preemption.
#  - mpi/pmix errors: MpiDefault=none.
#  - policy-rc.d denying the packages' service start is expected (no systemd); munge's postinst
#    still writes the key (created here if it did not).
#  - Found here: another session's apt may hold dpkg's lock (waited for); sacct shows no Comment
#    without AccountingStoreFlags=job_comment; a changed AccountingStorageType needs a restart,
#    not `scontrol reconfigure` (the daemons this script started are restarted when the config changes).
# Packages: slurmctld, slurmd, slurm-client and munge: exactly what Debian's slurm-wlm metapackage
# depends on (plus munge), named one by one so a missing one is found with dpkg -s.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

D=${ABLATE_SLURM_DIR:-/var/lib/ablate-slurm}
A=${ACCOUNTING:-0}
STARTED=$D/started          # one line per daemon this script started: "name pidfile"
CONF=/etc/slurm/slurm.conf

die() { echo "slurm-cluster: $*" >&2; exit 1; }
log() { echo "slurm-cluster: $*"; }

# Alive: the pid file names a process that exists and is not a zombie.
alive() {
  local p
  p=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$p" ] && [ -r "/proc/$p/stat" ] || return 1
  # Field 3 of /proc/PID/stat is the state; the command name (field 2) may contain spaces, so cut after ')'.
  [ "$(sed 's/^.*) //' "/proc/$p/stat" | cut -d' ' -f1)" != Z ]
}

# waitfor CONDITION LOGFILE [TRIES]: polls every 0.25 s (default 20 s), prints the log tail on failure.
waitfor() {
  local i n=${3:-80}
  for ((i = 0; i < n; i++)); do
    if eval "$1"; then return 0; fi
    sleep 0.25
  done
  echo "slurm-cluster: timed out waiting for: $1" >&2
  [ -f "$2" ] && tail -n 8 "$2" >&2
  return 1
}

pidfile_of() {
  case $1 in
    munged) echo /run/munge/munged.pid ;;
    mariadbd) echo /run/mysqld/mysqld.pid ;;
    *) echo "$D/$1.pid" ;;
  esac
}

# Records that this script started daemon $1 (so `stop` stops it, and nothing it did not start).
mark_started() {
  grep -qs "^$1 " "$STARTED" || echo "$1 $(pidfile_of "$1")" >>"$STARTED"
}

node_ready() { timeout 3 sinfo -h -N -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'; }
ctld_up() { timeout 3 scontrol ping 2>/dev/null | grep -q 'is UP'; }

install_packages() {
  local want="slurmctld slurmd slurm-client munge" missing="" p
  [ "$A" = 1 ] && want="$want slurmdbd mariadb-server"
  for p in $want; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  log "installing$missing"
  # Another apt (a concurrent session, unattended upgrades) may hold dpkg's lock: wait for it.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  # "policy-rc.d denied execution of start" is expected here: there is no init system to start them.
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null 2>"$D/log/apt.log" || { tail -n 5 "$D/log/apt.log" >&2; die "apt-get install$missing failed"; }
}

write_conf() {
  local host cpus tmp
  host=$(hostname -s)
  cpus=${SLURM_CPUS:-$(nproc)}
  local acct="AccountingStorageType=accounting_storage/none"
  # job_comment: without it sacct shows an empty Comment, and the --comment tag is how our jobs are found.
  [ "$A" = 1 ] && acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStoreFlags=job_comment"
  tmp=$(mktemp)
  cat >"$tmp" <<CONF
# Written by scripts/slurm-cluster.sh (ablation workbench); rewritten on every start.
ClusterName=ablate
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
$acct
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=bf_interval=2,sched_interval=2
ReturnToService=2
MinJobAge=3600
KillWait=5
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=low Nodes=ALL Default=YES MaxTime=INFINITE PriorityTier=1 PreemptMode=REQUEUE GraceTime=5
PartitionName=high Nodes=ALL MaxTime=INFINITE PriorityTier=10 PreemptMode=OFF
CONF
  if cmp -s "$tmp" "$CONF"; then rm -f "$tmp"; return 1; fi
  install -m 644 "$tmp" "$CONF"
  rm -f "$tmp"
  return 0
}

start_accounting() {
  install -d -o mysql -g mysql /run/mysqld
  if ! alive /run/mysqld/mysqld.pid; then
    setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 --pid-file=/run/mysqld/mysqld.pid >"$D/log/mariadb.log" 2>&1 </dev/null &
    mark_started mariadbd
  fi
  waitfor "mariadb -e 'select 1' >/dev/null 2>&1" "$D/log/mariadb.log"
  # ALTER USER: CREATE USER IF NOT EXISTS would keep a stale password from an earlier install.
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS slurm@localhost;
    ALTER USER slurm@localhost IDENTIFIED BY 'ablate'; GRANT ALL ON slurm_acct_db.* TO slurm@localhost;"
  printf '%s\n' AuthType=auth/munge DbdHost=localhost DbdAddr=127.0.0.1 SlurmUser=root StorageType=accounting_storage/mysql \
    StorageHost=localhost StorageUser=slurm StoragePass=ablate StorageLoc=slurm_acct_db "LogFile=$D/log/slurmdbd.log" \
    "PidFile=$D/slurmdbd.pid" >/etc/slurm/slurmdbd.conf
  chmod 600 /etc/slurm/slurmdbd.conf
  if ! alive "$D/slurmdbd.pid"; then
    /usr/sbin/slurmdbd
    mark_started slurmdbd
  fi
  # slurmctld must start after slurmdbd serves, else it dies with "running with a database but ... no TRES".
  waitfor "(exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null" "$D/log/slurmdbd.log"
}

cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts system daemons)"
  local t0=$SECONDS
  mkdir -p "$D/state" "$D/spool" "$D/log" /etc/slurm
  install_packages
  [ -s /etc/munge/munge.key ] || { log "creating /etc/munge/munge.key"; mungekey --create --force; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 755 /run/munge
  if ! alive /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged
    mark_started munged
  fi
  waitfor "munge -n 2>/dev/null | unmunge >/dev/null 2>&1" /var/log/munge/munged.log
  [ "$A" = 1 ] && start_accounting
  local changed=0
  write_conf && changed=1
  [ "$A" = 1 ] && { timeout 10 sacctmgr -i add cluster ablate >/dev/null 2>&1 || true; }
  if alive "$D/slurmctld.pid" && [ "$changed" = 1 ]; then
    # Running with another config (e.g. ACCOUNTING changed, which `scontrol reconfigure` cannot
    # apply): restart the daemons this script started; ask others to reconfigure.
    if grep -qs '^slurmctld ' "$STARTED"; then
      log "config changed: restarting slurmctld and slurmd"
      stop_daemon slurmd "$D/slurmd.pid"
      stop_daemon slurmctld "$D/slurmctld.pid"
    else
      timeout 10 scontrol reconfigure || die "config changed and scontrol reconfigure failed"
    fi
  fi
  if ! alive "$D/slurmctld.pid"; then
    /usr/sbin/slurmctld
    mark_started slurmctld
  fi
  waitfor ctld_up "$D/log/slurmctld.log"
  if ! alive "$D/slurmd.pid"; then
    /usr/sbin/slurmd
    mark_started slurmd
  fi
  waitfor node_ready "$D/log/slurmd.log"
  log "up in $((SECONDS - t0)) s: $(timeout 3 sinfo -h -o '%P %a %D %T' | tr '\n' ';')"
}

cmd_status() {
  local name f up=0
  for name in munged mariadbd slurmdbd slurmctld slurmd; do
    f=$(pidfile_of "$name")
    if alive "$f"; then
      echo "$name: running (pid $(cat "$f"))$(grep -qs "^$name " "$STARTED" && echo ', started by this script')"
    elif [ -e "$f" ]; then echo "$name: not running (stale $f)"; fi
  done
  if command -v sinfo >/dev/null && ctld_up && node_ready; then
    timeout 3 sinfo
    up=1
  fi
  [ "$up" = 1 ] || { echo "cluster: not up"; return 3; }
}

# stop_daemon NAME PIDFILE: TERM, wait up to 10 s, then KILL; a zombie counts as stopped.
stop_daemon() {
  local p i
  alive "$2" || return 0
  p=$(cat "$2")
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do alive "$2" || break; sleep 0.25; done
  if alive "$2"; then kill -KILL "$p" 2>/dev/null || true; sleep 0.25; fi
  log "stopped $1 (pid $p)"
}

cmd_stop() {
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  [ -s "$STARTED" ] || { log "nothing to stop (no daemon was started by this script)"; return 0; }
  if grep -qs '^slurmctld ' "$STARTED" && ctld_up; then
    # Jobs would outlive slurmd (slurmstepd and the job are not its children after the fork) and come
    # back from the state directory on the next start: cancel them, give them KillWait to end.
    timeout 5 scancel --user=root --full 2>/dev/null || true
    local i
    for ((i = 0; i < 40; i++)); do
      [ -z "$(timeout 3 squeue -h -t RUNNING,COMPLETING,CONFIGURING -o %i 2>/dev/null)" ] && break
      sleep 0.25
    done
  fi
  # Reverse start order: slurmd, slurmctld, slurmdbd, mariadbd, munged.
  local name
  for name in slurmd slurmctld slurmdbd mariadbd munged; do
    grep -qs "^$name " "$STARTED" && stop_daemon "$name" "$(pidfile_of "$name")"
  done
  # Any slurmstepd left belongs to the slurmd stopped above (none runs without one).
  if grep -qs '^slurmd ' "$STARTED"; then
    local s
    for s in $(pgrep -x slurmstepd || true); do
      [ "$(sed 's/^.*) //' "/proc/$s/stat" 2>/dev/null | cut -d' ' -f1)" = Z ] || { kill -KILL "$s" 2>/dev/null && log "killed leftover slurmstepd $s"; }
    done
  fi
  rm -f "$STARTED"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status   (env: ABLATE_SLURM_DIR, ACCOUNTING=1, SLURM_CPUS)" >&2; exit 2 ;;
esac
