#!/usr/bin/env bash
# A throwaway single-node SLURM cluster on loopback (Debian's slurm-wlm + munge, no slurmdbd),
# for tests/test_slurm.py: the SLURM profile runs against a real slurmctld and slurmd.
#
#   cluster.sh install   install munge slurmctld slurmd slurm-client (root + apt-get; else skip)
#   cluster.sh start     write the config under $ACTIONMQA_SLURM_ROOT, start munged, slurmctld,
#                        slurmd, wait for the node to be idle and run one job step
#   cluster.sh stop      cancel this cluster's jobs, stop the daemons whose PIDs `start` recorded,
#                        remove the /etc/slurm links `start` made; nothing else
#
# ACTIONMQA_SLURM_ROOT: state, logs, PIDs, munge socket and fake GPUs. Every directory above
# it must be traversable by user munge (a fresh `mktemp -d` under /tmp, chmod 755, is).
# ACTIONMQA_SLURM_CPUS, _MEM_MB, _GPUS: the node's size (default 16 CPUs, 256 GiB, 4 GPUs).
#
# The node mirrors a GPU cluster so that config/profiles/slurm runs unchanged: partitions
# `cpu` (default) and `gpu`, GPUs of type h100 (fake: character devices cloned from /dev/null,
# which is enough for SLURM to grant them and set CUDA_VISIBLE_DEVICES), and more CPUs and
# memory than the machine has (SlurmdParameters=config_overrides). Nothing is enforced (no
# cgroups), so the jobs share the real cores.
set -euo pipefail

PACKAGES=(munge slurmctld slurmd slurm-client)
# slurmstepd's inner srun (snakemake-executor-plugin-slurm's jobstep) drops SLURM_CONF,
# so the config must be reachable at the compiled-in default path.
ETC=/etc/slurm
CPUS=${ACTIONMQA_SLURM_CPUS:-16}
MEM_MB=${ACTIONMQA_SLURM_MEM_MB:-262144}
GPUS=${ACTIONMQA_SLURM_GPUS:-4}
GPU_TYPE=h100

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

# Point $ETC/<name> at our file. A link of an earlier run whose target is gone is replaced;
# anything else there (a site's own config, another live cluster) is left alone and fatal.
link_conf() {
  local name=$1 target=$ROOT/etc/$1 path=$ETC/$1
  if [ -L "$path" ] && [ "$(readlink "$path")" = "$target" ]; then
    :
  elif [ -L "$path" ] && [ ! -e "$path" ]; then
    ln -sfn "$target" "$path"
  elif [ -e "$path" ] || [ -L "$path" ]; then
    die "$path exists and is not this cluster's; not touching it"
  else
    ln -s "$target" "$path"
  fi
  echo "$path" >>"$ROOT/run/links"
}

write_conf() {
  mkdir -p "$ROOT"/{etc,state/ctld,state/d,log,run,dev} "$ETC"
  local i
  for i in $(seq 0 $((GPUS - 1))); do
    [ -c "$ROOT/dev/nvidia$i" ] || mknod "$ROOT/dev/nvidia$i" c 1 3
  done
  # Without File= (or with regular files) slurmd drops the GPUs; with character devices it
  # grants them and sets CUDA_VISIBLE_DEVICES.
  printf 'AutoDetect=off\nNodeName=localhost Name=gpu Type=%s File=%s/dev/nvidia[0-%d]\n' \
    "$GPU_TYPE" "$ROOT" $((GPUS - 1)) >"$ROOT/etc/gres.conf"
  # Every task (batch script and job steps) leaves one line: what SLURM granted it, as seen
  # from inside the task.
  cat >"$ROOT/etc/task_prolog.sh" <<EOF
#!/bin/sh
echo "job=\$SLURM_JOB_ID step=\$SLURM_STEP_ID partition=\$SLURM_JOB_PARTITION" \\
  "CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES-unset}" >>"$ROOT/log/tasks.log"
EOF
  chmod 755 "$ROOT/etc/task_prolog.sh"
  # Loopback only. NoInAddrAny also makes clients bind to the address of `hostname`, which
  # breaks srun when that name does not resolve, so it is set only when it resolves to 127.x.
  local comm=""
  if getent ahostsv4 "$(hostname)" | awk '{print $1}' | grep -q '^127\.'; then
    comm="CommunicationParameters=NoCtldInAddrAny,NoInAddrAny"
  fi
  cat >"$ROOT/etc/slurm.conf" <<EOF
# written by tests/slurm/cluster.sh; state under $ROOT
ClusterName=actionmqa-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
$comm
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$ROOT/state/ctld
SlurmdSpoolDir=$ROOT/state/d
SlurmctldPidFile=$ROOT/run/slurmctld.pidfile
SlurmdPidFile=$ROOT/run/slurmd.pidfile
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
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
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPU_TYPE:$GPUS State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost Default=NO MaxTime=INFINITE State=UP
EOF
  : >"$ROOT/run/links"
  link_conf slurm.conf
  link_conf gres.conf
}

# Start a daemon in the foreground of a background process and record its PID.
spawn() {
  local name=$1
  shift
  "$@" </dev/null >>"$ROOT/log/$name.out" 2>&1 &
  echo $! >"$ROOT/run/$name.pid"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

do_start() {
  root_dir
  local port
  for port in 6817 6818; do
    port_free "$port" || die "port $port is in use: another SLURM daemon is running here"
  done
  [ ! -s "$ROOT/run/slurmctld.pid" ] || die "$ROOT already has a started cluster; stop it first"
  write_conf

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
  # -N: the node is "localhost" whatever `hostname` says
  spawn slurmd slurmd -D -f "$ETC/slurm.conf" -N localhost

  # (client commands retry for seconds when slurmctld is down: bound them, and give up as soon
  # as a daemon has died)
  local state="" name deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    for name in munged slurmctld slurmd; do
      kill -0 "$(cat "$ROOT/run/$name.pid")" 2>/dev/null || {
        tail -n 20 "$ROOT/log/$name.out" >&2 || true
        die "$name exited (log: $ROOT/log/$name.out)"
      }
    done
    state=$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null | head -1 || true)
    [ "$state" = idle ] && break
    sleep 0.5
  done
  if [ "$state" != idle ]; then
    timeout 5 scontrol show node localhost >&2 || true
    tail -n 20 "$ROOT/log/slurmctld.log" "$ROOT/log/slurmd.log" >&2 || true
    die "node not idle after 60 s (state '$state')"
  fi
  # one real job step; --immediate: fail instead of queueing forever
  timeout 60 srun --immediate=30 -p gpu --gpus=1 true || die "srun smoke test failed"
  timeout 10 sinfo
}

# Stop the process whose PID `start` recorded in $1, if it is still the daemon named $2.
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
  if [ -s "$ROOT/run/slurmctld.pid" ]; then
    # jobs left by a failed run: their slurmstepd would outlive slurmd
    local jobs
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      timeout 10 scancel $jobs || true
      for _ in $(seq 1 50); do
        [ -z "$(timeout 10 squeue -h -t running,completing -o %i 2>/dev/null || true)" ] && break
        sleep 0.2
      done
    fi
  fi
  stop_recorded slurmd slurmd
  stop_recorded slurmctld slurmctld # saves its state first (1-2 s)
  stop_recorded munged munged
  local path
  if [ -f "$ROOT/run/links" ]; then
    while read -r path; do
      if [ -L "$path" ] && [ "$(readlink "$path")" = "$ROOT/etc/$(basename "$path")" ]; then
        rm -f "$path"
      fi
    done <"$ROOT/run/links"
    rm -f "$ROOT/run/links"
  fi
  return 0
}

case "${1:-}" in
install) do_install ;;
start) do_start ;;
stop) do_stop ;;
*)
  echo "usage: $0 install|start|stop" >&2
  exit 2
  ;;
esac
