# shellcheck shell=bash
# The multipath client (issue 9): / on the dm-multipath map MULTIPATH_MAP over two sessions to the root target,
# path 0 through QEMU user network n0 (10.0.2.2), path 1 through n1 (10.0.3.2); the QEMU monitor's set_link
# cuts a path. The scenarios run in this order on one guest of their own (lib/build-multipath.sh).
# Sourced by Tests/e2e/run.

SCENARIOS+=(m-paths m-poweroff)
SCENARIO_BOOT[m-paths]=multipath
SCENARIO_BOOT[m-poweroff]=multipath
# The paths' NOPs from the initramfs (guest/init): every 5 s with a 5 s timeout.
PATH_NOP_SECONDS=5

# Sets PATH_SESSION[0|1], PATH_DISK[0|1] and PATH_LINE[0|1] ("sessionN ADDRESS DISK INITIATOR STATE") by
# the portal address the session is connected to; PATH_LINES is the guest's answer.
read_paths() {
	local i line
	PATH_SESSION=() PATH_DISK=() PATH_LINE=()
	# shellcheck disable=SC2016 # expanded by the guest's shell
	guest 'for s in /sys/class/iscsi_session/session*; do n=${s##*session}; echo session$n $(cat /sys/class/iscsi_connection/connection$n:0/persistent_address) $(ls $s/device/target*/*/block) $(cat $s/initiatorname $s/state); done' || true
	PATH_LINES=$GUEST_OUT
	for i in 0 1; do
		line=$(awk -v address="${MULTIPATH_PORTALS[i]%:*}" '$2 == address' <<< "$PATH_LINES" | head -n 1)
		PATH_LINE[i]=$line
		PATH_SESSION[i]=$(awk '{ print $1 }' <<< "$line")
		PATH_DISK[i]=$(awk '{ print $3 }' <<< "$line")
	done
}

# The client as built: / on the map, both paths logged in with their own initiator names and the multipath
# settings, multipathd serving the map with both paths active, iscsid and iscsi-rootd running.
scenario_m_paths() {
	local name=m-paths i expected
	if guest "findmnt -n -o SOURCE,FSTYPE,OPTIONS /" && [[ $GUEST_OUT =~ ^/dev/mapper/$MULTIPATH_MAP\ +ext4\ +rw, ]]; then
		ok "$name: / is /dev/mapper/$MULTIPATH_MAP, ext4, read-write"
	else
		not_ok "$name: / is /dev/mapper/$MULTIPATH_MAP, ext4, read-write" "findmnt /: $GUEST_OUT"
	fi
	read_paths
	note "paths: $(paste -sd ';' <<< "$PATH_LINES")"
	expected=
	for i in 0 1; do
		expected+="${PATH_LINE[i]:-none} "
	done
	if [[ $(grep -c . <<< "$PATH_LINES") == 2 &&
		${PATH_LINE[0]} =~ ^session[0-9]+\ ${MULTIPATH_PORTALS[0]%:*}\ sd[a-z]\ ${MULTIPATH_INITIATORS[0]}\ LOGGED_IN$ &&
		${PATH_LINE[1]} =~ ^session[0-9]+\ ${MULTIPATH_PORTALS[1]%:*}\ sd[a-z]\ ${MULTIPATH_INITIATORS[1]}\ LOGGED_IN$ ]]; then
		ok "$name: two LOGGED_IN sessions, one per portal, each with its own initiator name"
	else
		not_ok "$name: two LOGGED_IN sessions, one per portal, each with its own initiator name" "$expected"
	fi
	guest "cat /sys/class/iscsi_session/${PATH_SESSION[0]}/recovery_tmo /sys/class/iscsi_session/${PATH_SESSION[1]}/recovery_tmo" || true
	note "recovery_tmo of the paths' sessions: $(paste -sd ' ' <<< "$GUEST_OUT")"
	# noop_out_interval and noop_out_timeout are the connection's recv_tmo and ping_tmo.
	guest "for i in ${PATH_SESSION[*]#session}; do cat /sys/class/iscsi_connection/connection\$i:0/recv_tmo /sys/class/iscsi_connection/connection\$i:0/ping_tmo; done" || true
	if [[ $(paste -sd ' ' <<< "$GUEST_OUT") == "$PATH_NOP_SECONDS $PATH_NOP_SECONDS $PATH_NOP_SECONDS $PATH_NOP_SECONDS" ]]; then
		ok "$name: both paths have NOPs on ($PATH_NOP_SECONDS s interval and timeout)"
	else
		not_ok "$name: both paths have NOPs on ($PATH_NOP_SECONDS s interval and timeout)" "recv_tmo/ping_tmo: $(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
	guest "dmsetup info -c --noheadings -o name,uuid $MULTIPATH_MAP && dmsetup table $MULTIPATH_MAP" || true
	note "map: $(paste -sd ';' <<< "$GUEST_OUT")"
	if [[ $GUEST_OUT == "$MULTIPATH_MAP:mpath-3"* && $GUEST_OUT == *" multipath "*queue_if_no_path* ]]; then
		ok "$name: $MULTIPATH_MAP is a dm-multipath map that queues when no path is left"
	else
		not_ok "$name: $MULTIPATH_MAP is a dm-multipath map that queues when no path is left" "$(paste -sd ';' <<< "$GUEST_OUT")"
	fi
	guest "systemctl is-active multipathd.service iscsid.service iscsi-rootd.service" || true
	if [[ $(paste -sd ' ' <<< "$GUEST_OUT") == "active active active" ]]; then
		ok "$name: multipathd, iscsid and iscsi-rootd are running"
	else
		not_ok "$name: multipathd, iscsid and iscsi-rootd are running" "$(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
	if wait_for_paths_active "${PATH_DISK[0]} ${PATH_DISK[1]}" 30; then
		ok "$name: multipathd serves $MULTIPATH_MAP with both paths active"
	else
		not_ok "$name: multipathd serves $MULTIPATH_MAP with both paths active" "multipathd show paths: $(paste -sd ';' <<< "$GUEST_OUT")"
	fi
}

# wait_for_paths_active "DISK..." SECONDS: multipathd has exactly these disks of the map active and its
# checker sees them ready; GUEST_OUT is its last "disk dm-state checker-state" list.
wait_for_paths_active() {
	local want deadline=$((SECONDS + $2))
	want=$(tr ' ' '\n' <<< "$1" | LC_ALL=C sort | awk '{ print $1 " active ready" }' | paste -sd ';')
	until guest "multipathd show paths raw format '%m %d %t %T'" &&
		[[ $(awk -v map="$MULTIPATH_MAP" '$1 == map && $3 == "active" && $4 == "ready" { print $2, $3, $4 }' <<< "$GUEST_OUT" |
			LC_ALL=C sort | paste -sd ';') == "$want" ]]; do
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# Poweroff with / on the map: multipathd and iscsid are not stopped by the shutdown transaction (the
# client's whole-unit copies without Conflicts=shutdown.target), and the machine powers off cleanly.
scenario_m_poweroff() {
	local name=m-poweroff mark started errors
	guest "systemctl is-active multipathd.service iscsid.service" || true
	if [[ $(paste -sd ' ' <<< "$GUEST_OUT") == "active active" ]]; then
		ok "$name: multipathd and iscsid run before the poweroff"
	else
		not_ok "$name: multipathd and iscsid run before the poweroff" "$(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
	mark=$(stat -c %s "$RUN_DIR/console.log")
	guest_send "systemctl --no-block --check-inhibitors=no poweroff"
	started=$SECONDS
	if wait_for_vm_exit "$POWEROFF_TIMEOUT"; then
		note "powered off in $((SECONDS - started)) s"
		ok "$name: systemctl poweroff completes within $POWEROFF_TIMEOUT s"
	else
		not_ok "$name: systemctl poweroff completes within $POWEROFF_TIMEOUT s" "guest still running"
	fi
	tail -c +$((mark + 1)) "$RUN_DIR/console.log" > "$RUN_DIR/poweroff-multipath.log"
	errors=$(grep -E 'I/O error|rejecting I/O|EXT4-fs error|Aborting journal|Remounting filesystem read-only|Failed to remount|detected conn error|queue_if_no_path|Failing path' \
		"$RUN_DIR/poweroff-multipath.log" | head -n 3 | paste -sd '|' || true)
	if [[ -z $errors ]]; then
		ok "$name: no I/O or path errors on the console"
	else
		not_ok "$name: no I/O or path errors on the console" "$errors"
	fi
	local stopped
	stopped=$(sed 's/\x1b\[[0-9;]*m//g' "$RUN_DIR/poweroff-multipath.log" | grep -oE 'Stopp(ing|ed) (iscsid|multipathd)\.' | sort -u | paste -sd ' ' || true)
	if [[ -z $stopped ]]; then
		ok "$name: the shutdown transaction leaves multipathd and iscsid running"
	else
		not_ok "$name: the shutdown transaction leaves multipathd and iscsid running" "$stopped"
	fi
	if grep -q 'reboot: Power down' "$RUN_DIR/poweroff-multipath.log"; then
		ok "$name: the kernel powered down"
	else
		not_ok "$name: the kernel powered down" "no 'reboot: Power down' on the console"
	fi
}
