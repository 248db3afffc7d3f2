#!/usr/bin/env bash
# A throwaway two-node SLURM cluster on loopback (Debian's slurm-wlm + munge, no slurmdbd), for
# tests/test_slurm.py: the SLURM profile runs against a real slurmctld and two slurmd.
#
#   cluster.sh install     install munge slurmctld slurmd slurm-client (root + apt-get; else skip)
#   cluster.sh start       in a private mount namespace: write the config under
#                          $ACTIONMQA_SLURM_ROOT, bind-mount it over /etc/slurm, start munged,
#                          slurmctld and one slurmd per node, wait for both nodes to be idle and
#                          run one job step across them
#   cluster.sh exec CMD    run CMD in that namespace (sbatch, srun, scontrol and everything a job
#                          starts read /etc/slurm/slurm.conf: the executor's job step drops
#                          SLURM_CONF, so the default path must hold this cluster's config)
#   cluster.sh stop        cancel this cluster's jobs, stop the daemons whose PIDs `start`
#                          recorded, end the namespace; nothing else
#
# The host's /etc is never written: the config is visible at /etc/slurm only inside the
# namespace, and the daemons listen on free ports found at start, so another cluster (or a
# site's own SLURM) can run beside this one.
#
# ACTIONMQA_SLURM_ROOT: state, logs, PIDs, munge socket and fake GPUs. Every directory above
# it must be traversable by user munge (a fresh `mktemp -d` under /tmp, chmod 755, is).
# ACTIONMQA_SLURM_CPUS, _MEM_MB, _GPUS: each node's size (default 32 CPUs, 256 GiB, 4 GPUs).
# ACTIONMQA_SLURM_PORT: where the search for free ports starts (default 16817).
#
# The nodes mirror a GPU cluster so that config/profiles/slurm runs unchanged: partitions `cpu`
# (default) and `gpu` over n1 and n2, GPUs of type h100 (fake: character devices cloned from
# /dev/null, which is enough for SLURM to grant them and set CUDA_VISIBLE_DEVICES), and more CPUs
# and memory than the machine has (SlurmdParameters=config_overrides). Both nodes are this host
# (Debian's slurmd supports several per host: MULTIPLE_SLURMD); nothing is enforced (no cgroups),
# so the jobs share the real cores.
set -euo pipefail

PACKAGES=(munge slurmctld slurmd slurm-client)
ETC=/etc/slurm
NODES=(n1 n2)
CPUS=${ACTIONMQA_SLURM_CPUS:-32}
MEM_MB=${ACTIONMQA_SLURM_MEM_MB:-262144}
GPUS=${ACTIONMQA_SLURM_GPUS:-4}
GPU_TYPE=h100
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

installed() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || return 1
  done
}

do_install() {
  if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    echo "cluster.sh install: no apt-get here; skipping SLURM (tests/test_slurm.py will skip)" >&2
    return 0
  fi
  if installed; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "cluster.sh install: not root; skipping SLURM (tests/test_slurm.py will skip)" >&2
    return 0
  fi
  echo "cluster.sh install: apt-get install ${PACKAGES[*]}" >&2
  # Package scripts must not start the daemons with the default config (Debian's container
  # images ship this file already; a systemd host does not).
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  } || rc=$?
  [ "$made_policy" = 0 ] || rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get failed (exit $rc)"
}

root_dir() {
  [ -n "${ACTIONMQA_SLURM_ROOT:-}" ] || die "set ACTIONMQA_SLURM_ROOT"
  [ -d "$ACTIONMQA_SLURM_ROOT" ] || die "$ACTIONMQA_SLURM_ROOT is not a directory"
  ROOT=$(cd "$ACTIONMQA_SLURM_ROOT" && pwd -P)
  SOCKET=$ROOT/munge/munge.socket.2
  [ "${#SOCKET}" -lt 100 ] || die "root path too long for a unix socket: $SOCKET"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The first free port above $1.
free_port_after() {
  local port=$(($1 + 1))
  while ! port_free "$port"; do
    port=$((port + 1))
  done
  echo "$port"
}

write_conf() {
  mkdir -p "$ROOT"/{etc,state/ctld,log,run}
  local node i
  : >"$ROOT/etc/gres.conf"
  echo "AutoDetect=off" >>"$ROOT/etc/gres.conf"
  for node in "${NODES[@]}"; do
    mkdir -p "$ROOT/dev/$node" "$ROOT/state/d/$node"
    for i in $(seq 0 $((GPUS - 1))); do
      [ -c "$ROOT/dev/$node/nvidia$i" ] || mknod "$ROOT/dev/$node/nvidia$i" c 1 3
    done
    # Without File= (or with regular files) slurmd drops the GPUs; with character devices it
    # grants them and sets CUDA_VISIBLE_DEVICES.
    echo "NodeName=$node Name=gpu Type=$GPU_TYPE File=$ROOT/dev/$node/nvidia[0-$((GPUS - 1))]" >>"$ROOT/etc/gres.conf"
  done
  # Every task (batch scripts and job steps) leaves one line: what SLURM granted it, as seen
  # from inside the task.
  cat >"$ROOT/etc/task_prolog.sh" <<EOF
#!/bin/sh
echo "job=\$SLURM_JOB_ID step=\$SLURM_STEP_ID node=\$SLURMD_NODENAME partition=\$SLURM_JOB_PARTITION" \\
  "CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES-unset}" >>"$ROOT/log/tasks.log"
EOF
  chmod 755 "$ROOT/etc/task_prolog.sh"
  # Loopback only. NoInAddrAny also makes clients bind to the address of `hostname`, which
  # breaks srun when that name does not resolve, so it is set only when it resolves to 127.x.
  local comm=""
  if getent ahostsv4 "$(hostname)" | awk '{print $1}' | grep -q '^127\.'; then
    comm="CommunicationParameters=NoCtldInAddrAny,NoInAddrAny"
  fi
  local ctld_port n1_port n2_port
  ctld_port=$(free_port_after $((${ACTIONMQA_SLURM_PORT:-16817} - 1)))
  n1_port=$(free_port_after "$ctld_port")
  n2_port=$(free_port_after "$n1_port")
  cat >"$ROOT/etc/slurm.conf" <<EOF
# written by tests/slurm/cluster.sh; state under $ROOT
ClusterName=actionmqa-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
$comm
SlurmctldPort=$ctld_port
StateSaveLocation=$ROOT/state/ctld
SlurmdSpoolDir=$ROOT/state/d/%n
SlurmctldPidFile=$ROOT/run/slurmctld.pidfile
SlurmdPidFile=$ROOT/run/slurmd-%n.pidfile
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# finished jobs stay visible to squeue (the status command without accounting) and to the test
MinJobAge=3600
TaskProlog=$ROOT/etc/task_prolog.sh
GresTypes=gpu
NodeName=n1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$n1_port CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPU_TYPE:$GPUS State=UNKNOWN
NodeName=n2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$n2_port CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPU_TYPE:$GPUS State=UNKNOWN
PartitionName=cpu Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=n[1-2] Default=NO MaxTime=INFINITE State=UP
EOF
}

# Start a daemon in the foreground of a background process and record its PID.
spawn() {
  local name=$1
  shift
  "$@" </dev/null >>"$ROOT/log/$name.out" 2>&1 &
  echo $! >"$ROOT/run/$name.pid"
}

namespace_pid() {
  local pid
  pid=$(cat "$ROOT/run/namespace.pid" 2>/dev/null) || die "no cluster started under $ROOT"
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = sleep ] || die "the namespace of $ROOT is gone"
  echo "$pid"
}

# (entering a mount namespace moves to its root: --wd keeps the working directory)
in_namespace() {
  nsenter --target "$(namespace_pid)" --mount --wd="$PWD" -- "$@"
}

do_start() {
  root_dir
  [ ! -s "$ROOT/run/namespace.pid" ] || die "$ROOT already has a started cluster; stop it first"
  [ -d "$ETC" ] || die "$ETC does not exist (slurm-client creates it): nothing to mount the config over"
  command -v unshare >/dev/null && command -v nsenter >/dev/null || die "needs unshare and nsenter (util-linux)"
  mkdir -p "$ROOT/run" "$ROOT/log"
  # The namespace lives as long as this process: `stop` ends it.
  unshare --mount --propagation private sleep infinity </dev/null >/dev/null 2>&1 &
  echo $! >"$ROOT/run/namespace.pid"
  local i
  for i in $(seq 1 50); do
    [ "$(readlink "/proc/$!/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
    sleep 0.1
  done
  in_namespace bash "$SELF" start-inside
}

# `start`, continued inside the namespace.
do_start_inside() {
  root_dir
  write_conf
  mount --bind "$ROOT/etc" "$ETC"

  install -d -o munge -g munge -m 755 "$ROOT/munge"
  local as_munge=(setpriv --reuid=munge --regid=munge --init-groups)
  [ -s "$ROOT/munge/munge.key" ] || "${as_munge[@]}" mungekey -c -k "$ROOT/munge/munge.key"
  spawn munged "${as_munge[@]}" munged -F -S "$SOCKET" --key-file="$ROOT/munge/munge.key" \
    --pid-file="$ROOT/munge/munged.pidfile" --log-file="$ROOT/munge/munged.log" \
    --seed-file="$ROOT/munge/munged.seed"
  local i
  for i in $(seq 1 100); do
    [ -S "$SOCKET" ] && break
    sleep 0.1
  done
  munge -S "$SOCKET" -n | unmunge -S "$SOCKET" >/dev/null || die "munge does not answer"

  spawn slurmctld slurmctld -D -f "$ETC/slurm.conf"
  local node
  for node in "${NODES[@]}"; do
    # -N: this slurmd is node $node, whatever `hostname` says
    spawn "slurmd-$node" slurmd -D -f "$ETC/slurm.conf" -N "$node"
  done

  # (client commands retry for seconds when slurmctld is down: bound them, and give up as soon
  # as a daemon has died)
  local states="" name deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    for name in munged slurmctld slurmd-n1 slurmd-n2; do
      kill -0 "$(cat "$ROOT/run/$name.pid")" 2>/dev/null || {
        tail -n 20 "$ROOT/log/$name.out" >&2 || true
        die "$name exited (log: $ROOT/log/$name.out)"
      }
    done
    states=$(timeout 5 sinfo -h -N -p cpu -o "%N=%T" 2>/dev/null | sort | tr '\n' ' ' || true)
    [ "$states" = "n1=idle n2=idle " ] && break
    sleep 0.5
  done
  if [ "$states" != "n1=idle n2=idle " ]; then
    timeout 5 scontrol show node >&2 || true
    tail -n 20 "$ROOT/log/slurmctld.log" "$ROOT"/log/slurmd-n*.log >&2 || true
    die "nodes not idle after 60 s (states: $states)"
  fi
  # one real job step on both nodes; --immediate: fail instead of queueing forever
  timeout 60 srun --immediate=30 -p gpu -N 2 --ntasks-per-node 1 --gres=gpu:1 true || die "srun smoke test failed"
  timeout 10 sinfo -N
}

do_exec() {
  root_dir
  in_namespace "$@"
}

# Stop the process whose PID `start` recorded in $1, if it is still the program named $2.
stop_recorded() {
  local file=$ROOT/run/$1.pid name=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
    timeout 30 tail -s 0.2 --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

do_stop() {
  root_dir
  if [ -s "$ROOT/run/slurmctld.pid" ] && namespace_pid >/dev/null 2>&1; then
    # jobs left by a failed run: their slurmstepd would outlive slurmd
    local jobs
    jobs=$(in_namespace timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      in_namespace timeout 10 scancel $jobs || true
      for _ in $(seq 1 50); do
        [ -z "$(in_namespace timeout 10 squeue -h -t running,completing -o %i 2>/dev/null || true)" ] && break
        sleep 0.2
      done
    fi
  fi
  stop_recorded slurmd-n1 slurmd
  stop_recorded slurmd-n2 slurmd
  stop_recorded slurmctld slurmctld # saves its state first (1-2 s)
  stop_recorded munged munged
  stop_recorded namespace sleep # the last process in the namespace: its mount goes with it
  return 0
}

case "${1:-}" in
install) do_install ;;
start) do_start ;;
start-inside) do_start_inside ;;
exec)
  shift
  do_exec "$@"
  ;;
stop) do_stop ;;
*)
  echo "usage: $0 install|start|exec CMD...|stop" >&2
  exit 2
  ;;
esac
