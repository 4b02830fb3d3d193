# shellcheck shell=bash
# Background JVMs with recorded PIDs, for deploy/bin/cluster and deploy/bin/hdfs: sourced after common.sh, never run.
# The sourcing script sets RUN_DIR (absolute) first.
#
# Every daemon NAME has RUN_DIR/pids/NAME.pid and RUN_DIR/logs/NAME.log, and carries -Dsparklm.daemon=RUN_DIR/NAME on
# its command line. A PID counts as ours only while /proc/PID/cmdline still holds that marker, so a stale PID file
# (the daemon died, its PID was reused by another process) never gets anything else killed. Nothing here looks for
# processes by name: stop signals exactly the recorded PIDs.

# The marker a daemon's command line carries.
daemon_marker() { # NAME
  echo "-Dsparklm.daemon=$RUN_DIR/$1"
}

# The recorded PID of NAME, or "" when there is none.
daemon_pid() { # NAME
  local f=$RUN_DIR/pids/$1.pid
  [ -f "$f" ] || return 0
  local pid
  pid=$(head -n 1 "$f" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
  return 0
}

# True when PID is alive and its command line holds NAME's marker.
daemon_is() { # NAME PID
  local pid=$2 marker
  marker=$(daemon_marker "$1")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$marker"
}

# True when NAME's recorded PID is alive and still NAME.
daemon_alive() { # NAME
  local pid
  pid=$(daemon_pid "$1")
  [ -n "$pid" ] && daemon_is "$1" "$pid"
}

# Starts "$@" (a java command line that already holds NAME's marker) in the background: detached from this shell's
# terminal and standard streams, output to RUN_DIR/logs/NAME.log, PID to RUN_DIR/pids/NAME.pid. Sets DAEMON_PID.
daemon_launch() { # NAME COMMAND...
  local name=$1
  shift
  mkdir -p "$RUN_DIR/pids" "$RUN_DIR/logs"
  local log=$RUN_DIR/logs/$name.log
  {
    echo "== $(date '+%Y-%m-%d %H:%M:%S') starting $name"
    printf '%q ' "$@"
    echo
  } >>"$log"
  # setsid: its own session, so a Ctrl-C in the terminal that ran `start` does not reach it; nohup: nor a hangup.
  # In a non-interactive shell the background child is not a process group leader, so setsid execs in place and
  # $! is the JVM's PID.
  nohup setsid "$@" </dev/null >>"$log" 2>&1 &
  DAEMON_PID=$!
  echo "$DAEMON_PID" >"$RUN_DIR/pids/$name.pid"
  # Until nohup has exec'd, the child is a copy of this shell without NAME's marker, and daemon_is would take it for
  # a dead daemon (seen once under load: "exited before it accepted a write" while the JVM went on starting). Wait
  # for the exec (or the child's end), at most 5 s.
  local marker i
  marker=$(daemon_marker "$name")
  for ((i = 0; i < 100; i++)); do
    [ -r "/proc/$DAEMON_PID/cmdline" ] || break
    tr '\0' '\n' <"/proc/$DAEMON_PID/cmdline" 2>/dev/null | grep -qxF -- "$marker" && break
    sleep 0.05
  done
}

# Stops NAME if it runs: SIGTERM, then SIGKILL after TIMEOUT seconds; removes its PID file. Idempotent.
# Prints what it did; returns 0 unless the process survived SIGKILL.
daemon_stop() { # NAME TIMEOUT
  local name=$1 timeout=$2 pid
  pid=$(daemon_pid "$name")
  if [ -z "$pid" ]; then
    return 0
  fi
  if ! daemon_is "$name" "$pid"; then
    echo "  $name: not running (stale PID file, PID $pid not ours)"
    rm -f "$RUN_DIR/pids/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while daemon_is "$name" "$pid" && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
  done
  if daemon_is "$name" "$pid"; then
    echo "  $name: PID $pid still running after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      daemon_is "$name" "$pid" || break
      sleep 0.2
    done
    if daemon_is "$name" "$pid"; then
      echo "  $name: PID $pid survived SIGKILL" >&2
      return 1
    fi
  fi
  echo "  $name: stopped (PID $pid)"
  rm -f "$RUN_DIR/pids/$name.pid"
  return 0
}

# The last lines of NAME's log, indented, for error messages.
daemon_log_tail() { # NAME [LINES]
  local log=$RUN_DIR/logs/$1.log
  [ -f "$log" ] || return 0
  echo "  last lines of $log:"
  tail -n "${2:-15}" "$log" | sed 's/^/    | /'
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { # PORT
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Checks a port option's value: an integer in [0, 65535] (0 where allowed: any free port).
check_port() { # OPTION VALUE
  if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -gt 65535 ]; then sparklm_die "$1: not a port number: '$2'"; fi
}

check_positive() { # OPTION VALUE
  if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then sparklm_die "$1: expected a positive integer, got '$2'"; fi
}

# An absolute path for DIR (need not exist).
abs_path() { # DIR
  case $1 in
    /*) echo "$1" ;;
    *) echo "$PWD/$1" ;;
  esac
}
