# shellcheck shell=bash
# The host side of a run: tgtd on 127.0.0.1:3260 serving the LUNs, QEMU booting the diskless client, and the
# client of the guest agent (guest/agent). Sourced by Tests/e2e/run.

BOOT_TIMEOUT=240
# Two tgtd processes, so an outage of the data LUN (SIGSTOP of its tgtd) leaves the root alone: the root
# target on 127.0.0.1:3260 (management port 0), the data target on 127.0.0.1:3261 (management port 1).
TGTD_PID=
DATA_TGTD_PID=
DATA_PORTAL=10.0.2.2:3261
QEMU_PID=
AGENT_READER_PID=
AGENT_FD=
AGENT_SEQ=0
MONITOR_READER_PID=
MONITOR_FD=
# What start_target and start_vm boot, set by boot_KIND for each kind of guest: the image, the e2e.* words of
# the kernel command line (read by guest/init) and QEMU options beyond the first NIC.
BOOT_IMAGE_DIR=
BOOT_CMDLINE=
BOOT_QEMU_ARGS=()
# The network namespace both tgtds and QEMU run in (make_netns), for a boot whose guest must dial the target at
# an address the target itself has; empty: the host's, tgtd on 127.0.0.1 (boot_guest empties it before boot_KIND).
BOOT_NETNS=
# QEMU forwards these ports of the host's 127.0.0.1 (only) to the guest's first NIC, so the host scrapes the
# guest as a Prometheus server would (lib/scenarios-fleet.sh): the daemon's /metrics (iscsi-rootd-metrics.socket,
# 9927) and node_exporter's (9100).
METRICS_HOST_PORT=19927
NODE_EXPORTER_HOST_PORT=19100

# The diskless client of lib/scenarios.sh: one session to the root target, / on /dev/sda.
boot_root() {
	BOOT_IMAGE_DIR=$IMAGE_DIR
	BOOT_CMDLINE="e2e.initiator=$INITIATOR e2e.target=$ROOT_IQN e2e.portal=10.0.2.2:3260"
	BOOT_QEMU_ARGS=()
}

# Starts both tgtds: the root LUN (a fresh copy of the image) and an empty data LUN.
start_target() {
	stop_stale_target
	cp --sparse=always "$BOOT_IMAGE_DIR/root.img" "$RUN_DIR/root.img"
	truncate -s 256M "$RUN_DIR/data.img"
	TGTD_PID=$(start_tgtd 0 3260)
	DATA_TGTD_PID=$(start_tgtd 1 3261)
	echo "$TGTD_PID $DATA_TGTD_PID" > "$CACHE/tgtd.pid"
	add_target 0 1 "$ROOT_IQN" "$RUN_DIR/root.img"
	add_target 1 2 "$DATA_IQN" "$RUN_DIR/data.img"
}

# start_tgtd CONTROL PORT: a tgtd on 127.0.0.1:PORT (every address of BOOT_NETNS when set) managed through
# control port CONTROL; prints its pid.
start_tgtd() {
	local control=$1 port=$2 pid waited=0 address=127.0.0.1 netns=()
	# In a namespace of its own, every address there: its lo, which also holds the portal address the guest dials.
	[[ -z $BOOT_NETNS ]] || { netns=(ip netns exec "$BOOT_NETNS") && address=0.0.0.0; }
	"${netns[@]}" tgtd -f -C "$control" --iscsi portal="$address:$port" > "$RUN_DIR/tgtd-$port.log" 2>&1 &
	pid=$!
	until tgtadm -C "$control" --lld iscsi --op show --mode target > /dev/null 2>&1; do
		kill -0 "$pid" 2> /dev/null || die "tgtd on port $port exited: $(tail -n 3 "$RUN_DIR/tgtd-$port.log")"
		((++waited < 50)) || die "tgtd on port $port did not answer tgtadm within 10 s"
		sleep 0.2
	done
	echo "$pid"
}

# add_target CONTROL TID IQN IMAGE
add_target() {
	local control=$1 tid=$2 iqn=$3 image=$4
	if ! tgtadm -C "$control" --lld iscsi --op new --mode target --tid "$tid" -T "$iqn" ||
		! tgtadm -C "$control" --lld iscsi --op new --mode logicalunit --tid "$tid" --lun 1 -b "$image" ||
		! tgtadm -C "$control" --lld iscsi --op bind --mode target --tid "$tid" -I ALL; then
		die "tgtadm could not set up target $tid ($iqn)"
	fi
}

# target_add_lun LUN IMAGE: a new LUN at the running root target (the guest sees it after a rescan).
target_add_lun() {
	tgtadm -C 0 --lld iscsi --op new --mode logicalunit --tid 1 --lun "$1" -b "$2"
}

# Closes the root session's TCP connection at the target: the guest sees a connection error at once,
# which NOPs (off on the root session) would otherwise be needed for.
target_drop_root_connection() {
	local nexus
	nexus=$(tgtadm -C 0 --lld iscsi --op show --mode target | awk '/I_T nexus:/ { print $3; exit }')
	[[ -n $nexus ]] && tgtadm -C 0 --lld iscsi --op delete --mode conn --tid 1 --sid "$nexus" --cid 0
}

# tgtd ignores SIGTERM: it leaves when its targets and then the system are deleted.
stop_target() {
	local pid control=0 waited
	for pid in $TGTD_PID $DATA_TGTD_PID; do
		kill -CONT "$pid" 2> /dev/null || true
		tgtadm -C "$control" --lld iscsi --op delete --mode target --tid $((control + 1)) --force > /dev/null 2>&1 || true
		tgtadm -C "$control" --op delete --mode system > /dev/null 2>&1 || true
		waited=0
		while kill -0 "$pid" 2> /dev/null && ((++waited < 50)); do
			sleep 0.2
		done
		kill -KILL "$pid" 2> /dev/null || true
		wait "$pid" 2> /dev/null || true
		control=$((control + 1))
	done
	rm -f "$CACHE/tgtd.pid"
	TGTD_PID=
	DATA_TGTD_PID=
}

# tgtds left by an earlier run that was killed are stopped; anything else on the ports is an error.
stop_stale_target() {
	local pid port
	for pid in $(cat "$CACHE/tgtd.pid" 2> /dev/null || true); do
		if [[ $(cat "/proc/$pid/comm" 2> /dev/null) == tgtd ]]; then
			note "stopping tgtd $pid left by an earlier run"
			kill -CONT "$pid"
			tgtadm -C 0 --op delete --mode system > /dev/null 2>&1 || true
			tgtadm -C 1 --op delete --mode system > /dev/null 2>&1 || true
			sleep 1
			kill -KILL "$pid" 2> /dev/null || true
		fi
	done
	rm -f "$CACHE/tgtd.pid"
	for port in 3260 3261 "$METRICS_HOST_PORT" "$NODE_EXPORTER_HOST_PORT"; do
		if (exec 3<> /dev/tcp/127.0.0.1/$port) 2> /dev/null; then
			die "127.0.0.1:$port is already in use by another process"
		fi
	done
}

# Boots the guest; the serial console goes to console.log, the agent's port to agent.log, the QEMU monitor's
# replies to monitor.log (commands: qemu_monitor).
start_vm() {
	rm -f "$RUN_DIR"/agent.{in,out} "$RUN_DIR"/monitor.{in,out}
	# The logs of an earlier boot of this run are kept as console.1.log, agent.1.log.
	local log
	for log in console agent; do
		[[ ! -s $RUN_DIR/$log.log ]] || mv "$RUN_DIR/$log.log" "$RUN_DIR/$log.1.log"
	done
	mkfifo "$RUN_DIR"/agent.{in,out} "$RUN_DIR"/monitor.{in,out}
	: > "$RUN_DIR/agent.log"
	cat "$RUN_DIR/agent.out" >> "$RUN_DIR/agent.log" &
	AGENT_READER_PID=$!
	cat "$RUN_DIR/monitor.out" >> "$RUN_DIR/monitor.log" &
	MONITOR_READER_PID=$!
	local netns=()
	[[ -z $BOOT_NETNS ]] || netns=(ip netns exec "$BOOT_NETNS")
	"${netns[@]}" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 -nographic -nodefaults -no-reboot \
		-kernel "$BOOT_IMAGE_DIR/vmlinuz" -initrd "$BOOT_IMAGE_DIR/initrd.img" \
		-append "console=ttyS0 net.ifnames=0 panic=-1 printk.devkmsg=on $BOOT_CMDLINE" \
		-serial "file:$RUN_DIR/console.log" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$METRICS_HOST_PORT-:9927,hostfwd=tcp:127.0.0.1:$NODE_EXPORTER_HOST_PORT-:9100" \
		-device virtio-net-pci,netdev=n0 "${BOOT_QEMU_ARGS[@]}" \
		-device virtio-serial-pci -chardev "pipe,id=agent,path=$RUN_DIR/agent" \
		-device virtserialport,chardev=agent,name=e2e.agent \
		-chardev "pipe,id=monitor,path=$RUN_DIR/monitor" -mon chardev=monitor,mode=readline \
		> "$RUN_DIR/qemu.log" 2>&1 &
	QEMU_PID=$!
	# Read-write, so opening the FIFOs never blocks even if QEMU failed to start.
	exec {AGENT_FD}<> "$RUN_DIR/agent.in"
	exec {MONITOR_FD}<> "$RUN_DIR/monitor.in"
}

# make_netns NAME ADDRESS: the network namespace NAME (made once a run) with lo up holding ADDRESS/32 besides
# 127.0.0.1. QEMU's user network connects a guest's TCP connection to any address but its own 10.0.2.x from the
# namespace QEMU runs in, so a tgtd there is reached at ADDRESS and sees ADDRESS as its own (its SendTargets
# answer names it). Removed at the end of the run (remove_netns).
make_netns() {
	local name=$1 address=$2
	[[ $MADE_NETNS == "$name" ]] && return 0
	ip netns delete "$name" 2> /dev/null || true
	ip netns add "$name" && ip netns exec "$name" ip link set lo up &&
		ip netns exec "$name" ip address add "$address/32" dev lo || die "could not make network namespace $name"
	MADE_NETNS=$name
}
MADE_NETNS=

remove_netns() {
	[[ -z $MADE_NETNS ]] || ip netns delete "$MADE_NETNS" 2> /dev/null || true
	MADE_NETNS=
}

# qemu_monitor COMMAND: one command to the QEMU monitor (e.g. "set_link n1 off"), not waiting for its reply.
qemu_monitor() {
	printf '%s\n' "$*" >&"$MONITOR_FD"
}

vm_running() {
	[[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2> /dev/null
}

# Waits until the VM is gone, at most SECONDS; returns 1 if it is still running.
wait_for_vm_exit() {
	local deadline=$((SECONDS + $1))
	while vm_running; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
	wait "$QEMU_PID" 2> /dev/null || true
	QEMU_PID=
}

# sleep_out DURATION START: sleeps until DURATION seconds have passed since START (a $SECONDS reading).
sleep_out() {
	local left=$(($1 - (SECONDS - $2)))
	((left <= 0)) || sleep "$left"
}

# What a clean shutdown of a client with its root on iSCSI never prints on the console.
POWEROFF_CONSOLE_ERRORS='I/O error|rejecting I/O|EXT4-fs error|Aborting journal|Remounting filesystem read-only|Failed to remount|detected conn error'

# guest_poweroff NAME LOG: powers the guest off with systemctl and asserts that it is gone within
# POWEROFF_TIMEOUT; the console from the poweroff on is kept in $RUN_DIR/LOG. No reply to wait for: the agent is
# stopped with everything else. No D-Bus here, so no inhibitor check.
guest_poweroff() {
	local mark started
	mark=$(stat -c %s "$RUN_DIR/console.log")
	guest_send "systemctl --no-block --check-inhibitors=no poweroff"
	started=$SECONDS
	if wait_for_vm_exit "$POWEROFF_TIMEOUT"; then
		note "powered off in $((SECONDS - started)) s"
		ok "$1: systemctl poweroff completes within $POWEROFF_TIMEOUT s"
	else
		not_ok "$1: systemctl poweroff completes within $POWEROFF_TIMEOUT s" "guest still running"
	fi
	tail -c +$((mark + 1)) "$RUN_DIR/console.log" > "$RUN_DIR/$2"
}

# assert_poweroff_console NAME LOG ERRORS WHAT UNIT...: the console of a poweroff ($RUN_DIR/LOG) has no line
# matching the ERE ERRORS ("no WHAT errors"), shows no UNIT stopped by the shutdown transaction (they must outlive
# the root), and ends with the kernel powering down.
assert_poweroff_console() {
	local name=$1 log=$RUN_DIR/$2 errors=$3 what=$4 stopped units
	shift 4
	units="$*"
	units=${units// / and }
	errors=$(grep -E "$errors" "$log" | head -n 3 | paste -sd '|' || true)
	if [[ -z $errors ]]; then
		ok "$name: no $what errors on the console"
	else
		not_ok "$name: no $what errors on the console" "$errors"
	fi
	# systemd's status lines are coloured: strip the escapes before matching unit names. (No grep -q: with
	# pipefail, sed killed by SIGPIPE would make a match look like none.)
	stopped=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -oE "Stopp(ing|ed) ($(IFS='|'; echo "$*"))\." | sort -u | paste -sd ' ' || true)
	if [[ -z $stopped ]]; then
		ok "$name: the shutdown transaction leaves $units running"
	else
		not_ok "$name: the shutdown transaction leaves $units running" "systemd stopped them before / was read-only: $stopped"
	fi
	if grep -q 'reboot: Power down' "$log"; then
		ok "$name: the kernel powered down"
	else
		not_ok "$name: the kernel powered down" "no 'reboot: Power down' on the console"
	fi
}

stop_vm() {
	if vm_running; then
		kill -TERM "$QEMU_PID"
		wait_for_vm_exit 10 || kill -KILL "$QEMU_PID" 2> /dev/null || true
	fi
	QEMU_PID=
	local reader
	for reader in $AGENT_READER_PID $MONITOR_READER_PID; do
		kill "$reader" 2> /dev/null || true
		wait "$reader" 2> /dev/null || true
	done
	AGENT_READER_PID=
	MONITOR_READER_PID=
}

# Waits until a line of FILE matches the extended regex PATTERN, at most SECONDS or until the VM is gone.
wait_for_line() {
	local pattern=$1 deadline=$((SECONDS + $2)) file=$3
	until grep -qE -- "$pattern" "$file" 2> /dev/null; do
		if ((SECONDS >= deadline)) || ! vm_running; then
			grep -qE -- "$pattern" "$file" 2> /dev/null
			return
		fi
		sleep 0.2
	done
}

# Waits for the agent's "ready"; sets GUEST_BOOT_ID.
wait_for_agent() {
	wait_for_line '^@@E2E 0 ready ' "$BOOT_TIMEOUT" "$RUN_DIR/agent.log" || return 1
	GUEST_BOOT_ID=$(sed -n 's/^@@E2E 0 ready //p' "$RUN_DIR/agent.log")
}

# guest_send [SECONDS] COMMAND: hands one line of shell to the guest agent (run for at most SECONDS, default
# 60) without waiting; sets AGENT_SEQ to its id.
guest_send() {
	local limit=60
	if [[ $1 =~ ^[0-9]+$ ]]; then
		limit=$1
		shift
	fi
	[[ $* != *$'\n'* ]] || die "guest command must be one line: $*"
	AGENT_SEQ=$((AGENT_SEQ + 1))
	printf '%s %s %s\n' "$AGENT_SEQ" "$limit" "$*" >&"$AGENT_FD"
}

# guest [-t SECONDS] COMMAND: runs one line of shell in the guest (at most SECONDS, default 60).
# Sets GUEST_OUT to its output and returns its exit status (255: no answer from the agent).
guest() {
	local limit=60 id
	if [[ $1 == -t ]]; then
		limit=$2
		shift 2
	fi
	GUEST_OUT=
	guest_send "$limit" "$@"
	id=$AGENT_SEQ
	wait_for_line "^@@E2E $id rc " $((limit + 15)) "$RUN_DIR/agent.log" || return 255
	GUEST_OUT=$(sed -n "s/^@@E2E $id out //p" "$RUN_DIR/agent.log")
	return "$(sed -n "s/^@@E2E $id rc //p" "$RUN_DIR/agent.log")"
}

# Sets GUEST_DISK to the block device (e.g. sdb) of the guest's session to target IQN.
guest_disk_of_target() {
	guest "for s in /sys/class/iscsi_session/session*; do [ \"\$(cat \$s/targetname)\" = $1 ] && ls \$s/device/target*/*/block; done" || true
	GUEST_DISK=$GUEST_OUT
}

# Logs the guest in to the data LUN's target: its own session (so its recovery_tmo can be short without
# touching the root's), with NOPs on in its node record (5/5 s), so the kernel notices an outage by itself.
guest_login_data() {
	local node="iscsiadm -m node -T $DATA_IQN -p $DATA_PORTAL"
	guest "$node -o new > /dev/null && $node -o update -n node.conn[0].timeo.noop_out_interval -v 5 &&" \
		"$node -o update -n node.conn[0].timeo.noop_out_timeout -v 5 && $node --login"
}

guest_logout_data() {
	guest "iscsiadm -m node -T $DATA_IQN -p $DATA_PORTAL --logout && iscsiadm -m node -o delete -T $DATA_IQN -p $DATA_PORTAL"
}

# Sets GUEST_SESSION (e.g. session2) to the guest's session to target IQN.
guest_session_of_target() {
	guest "for s in /sys/class/iscsi_session/session*; do [ \"\$(cat \$s/targetname)\" = $1 ] && echo \${s##*/}; done" || true
	GUEST_SESSION=$GUEST_OUT
}
