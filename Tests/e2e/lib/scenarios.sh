# shellcheck shell=bash
# The scenarios of issue 6, one function each, run in the order of SCENARIOS on one booted guest.
# Sourced by Tests/e2e/run.

SCENARIOS=(a-boot b-drift c-outage e-poweroff)
OUTAGE_SECONDS=30
POWEROFF_TIMEOUT=90

# a. The guest is a real diskless client: / is /dev/sda of the session to the root target, systemd is up.
scenario_a_boot() {
	local name=a-boot
	if guest "findmnt -n -o SOURCE,FSTYPE,OPTIONS /" && [[ $GUEST_OUT =~ ^/dev/sda\ +ext4\ +rw, ]]; then
		ok "$name: / is /dev/sda, ext4, read-write"
	else
		not_ok "$name: / is /dev/sda, ext4, read-write" "findmnt /: $GUEST_OUT"
	fi
	# The session that sda hangs under in sysfs, its target and state (expanded by the guest's shell).
	# shellcheck disable=SC2016
	if guest 'd=$(readlink -f /sys/block/sda); s=${d#*/session}; s=session${s%%/*}; echo $s $(cat /sys/class/iscsi_session/$s/targetname /sys/class/iscsi_session/$s/state)' &&
		[[ $GUEST_OUT =~ ^session[0-9]+\ $ROOT_IQN\ LOGGED_IN$ ]]; then
		ok "$name: sda belongs to a LOGGED_IN session to $ROOT_IQN"
	else
		not_ok "$name: sda belongs to a LOGGED_IN session to $ROOT_IQN" "$GUEST_OUT"
	fi
	if guest "cat /sys/class/iscsi_session/session*/state" && [[ $GUEST_OUT == LOGGED_IN ]]; then
		ok "$name: the only iSCSI session is LOGGED_IN"
	else
		not_ok "$name: the only iSCSI session is LOGGED_IN" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	if guest "systemctl is-active multi-user.target"; then
		ok "$name: systemd reached multi-user.target"
	else
		not_ok "$name: systemd reached multi-user.target" "$GUEST_OUT"
	fi
	guest "systemctl list-units --failed --plain --no-legend" || true
	if [[ -z $GUEST_OUT ]]; then
		ok "$name: no failed units"
	else
		not_ok "$name: no failed units" "$(echo "$GUEST_OUT" | awk '{ print $1 }' | paste -sd ' ')"
	fi
	check_data_lun "$name"
	daemon_check "$name: iscsi-rootd.service active after READY=1" assert_daemon_ready
	daemon_check "$name: root disk device/timeout 90" assert_root_disk_timeout
	daemon_check "$name: root disk scheduler none" assert_root_disk_scheduler
	daemon_check "$name: journal has the daemon's start and the disk tuning by MESSAGE_ID" assert_journal_message_ids
	daemon_check "$name: iscsi-rootd status --json overall ok" assert_status_json
	daemon_check "$name: status --json root chain names the root session" assert_root_chain_session
	daemon_check "$name: iscsi-rootd check --json overall ok" assert_check_json
	daemon_check "$name: a LUN added at the target and rescanned is tuned within 1 s" assert_hot_added_lun_tuned
}

# The second LUN (own target, own session) for non-root scenarios: login, a disk appears, logout.
check_data_lun() {
	local name="$1: data LUN logs in as its own session and logs out"
	guest_login_data || { not_ok "$name" "login: $GUEST_OUT"; return; }
	guest_disk_of_target "$DATA_IQN"
	local disk=$GUEST_DISK
	guest_logout_data || { not_ok "$name" "logout: $GUEST_OUT"; return; }
	if [[ $disk =~ ^sd[b-z]$ ]]; then ok "$name"; else not_ok "$name" "its disk: '$disk'"; fi
}

# b. Drift: a scheduler changed in the guest is set back (daemon only).
scenario_b_drift() {
	daemon_check "b-drift: mq-deadline on sda corrected and journaled" assert_drift_corrected
}

# c. Outage: tgtd frozen for OUTAGE_SECONDS; root I/O stalls, then completes; data survives; guest usable.
scenario_c_outage() {
	local name=c-outage file=/var/tmp/e2e-outage.bin before after stopped continued left guest_start
	if ! guest -t 120 "dd if=/dev/urandom of=$file bs=65536 count=256 2> /dev/null && sync && sha256sum $file"; then
		not_ok "$name: test file written" "$GUEST_OUT"
		return
	fi
	before=${GUEST_OUT%% *}
	guest "sync && echo 3 > /proc/sys/vm/drop_caches && date +%s" || true
	guest_start=$GUEST_OUT

	kill -STOP "$TGTD_PID"
	stopped=$SECONDS
	note "tgtd stopped for $OUTAGE_SECONDS s"
	# Until the target is back the guest runs only busybox applets (from /run), nothing from the root disk.
	guest "rm -f /run/e2e/writer.rc; setsid sh -c 'echo outage > /var/tmp/e2e-during && sync; echo \$? > /run/e2e/writer.rc' > /dev/null 2>&1 &" || true
	sleep 10
	if guest -t 10 "cat /run/e2e/writer.rc 2> /dev/null || echo pending; cat /sys/class/iscsi_session/session*/state /sys/block/sda/inflight"; then
		note "during the outage: writer $(echo "$GUEST_OUT" | paste -sd ' ')"
		if [[ $(echo "$GUEST_OUT" | head -n 1) == pending ]]; then
			ok "$name: root write+sync blocks while the target is stopped"
		else
			not_ok "$name: root write+sync blocks while the target is stopped" "the writer finished: $GUEST_OUT"
		fi
	else
		not_ok "$name: root write+sync blocks while the target is stopped" "the agent did not answer during the outage"
	fi
	left=$((OUTAGE_SECONDS - (SECONDS - stopped)))
	((left <= 0)) || sleep "$left"
	kill -CONT "$TGTD_PID"
	continued=$SECONDS
	note "tgtd continued after $((continued - stopped)) s"

	until guest -t 5 "cat /run/e2e/writer.rc"; do
		((SECONDS - continued < 120)) || break
		sleep 1
	done
	if [[ $GUEST_OUT == 0 ]]; then
		note "the writer finished $((SECONDS - continued)) s after the target returned"
		ok "$name: the blocked write+sync completes after the target returns"
	else
		not_ok "$name: the blocked write+sync completes after the target returns" "writer status '$GUEST_OUT' after $((SECONDS - continued)) s"
	fi
	guest -t 60 "sync && echo 3 > /proc/sys/vm/drop_caches && sha256sum $file" || true
	after=${GUEST_OUT%% *}
	if [[ $after == "$before" ]]; then
		ok "$name: file written before the outage has the same checksum"
	else
		not_ok "$name: file written before the outage has the same checksum" "before $before, after '$GUEST_OUT'"
	fi
	if guest "cat /sys/class/iscsi_session/session*/state" && [[ $GUEST_OUT == LOGGED_IN ]]; then
		ok "$name: the root session is LOGGED_IN again"
	else
		not_ok "$name: the root session is LOGGED_IN again" "$GUEST_OUT"
	fi
	if guest -t 30 "echo after > /var/tmp/e2e-after && sync && systemctl is-system-running" && [[ $GUEST_OUT == running ]]; then
		ok "$name: guest usable again (write, sync, systemd running)"
	else
		not_ok "$name: guest usable again (write, sync, systemd running)" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	daemon_check "$name: journal shows the root I/O stall and its end" assert_outage_reported "$guest_start"
}

# e. Poweroff: completes in time, with no I/O errors on the console.
scenario_e_poweroff() {
	local name=e-poweroff mark started errors
	mark=$(stat -c %s "$RUN_DIR/console.log")
	# No reply to wait for: the agent is stopped with everything else. No D-Bus here, so no inhibitor check.
	guest_send "systemctl --no-block --check-inhibitors=no poweroff"
	started=$SECONDS
	if wait_for_vm_exit "$POWEROFF_TIMEOUT"; then
		note "powered off in $((SECONDS - started)) s"
		ok "$name: systemctl poweroff completes within $POWEROFF_TIMEOUT s"
	else
		not_ok "$name: systemctl poweroff completes within $POWEROFF_TIMEOUT s" "guest still running"
	fi
	tail -c +$((mark + 1)) "$RUN_DIR/console.log" > "$RUN_DIR/poweroff.log"
	errors=$(grep -E 'I/O error|rejecting I/O|EXT4-fs error|Aborting journal|Remounting filesystem read-only|Failed to remount|detected conn error' \
		"$RUN_DIR/poweroff.log" | head -n 3 | paste -sd '|' || true)
	if [[ -z $errors ]]; then
		ok "$name: no I/O errors on the console"
	else
		not_ok "$name: no I/O errors on the console" "$errors"
	fi
	# systemd's status lines are coloured: strip the escapes before matching unit names.
	if sed 's/\x1b\[[0-9;]*m//g' "$RUN_DIR/poweroff.log" | grep -qE 'Stopp(ing|ed) iscsid\.'; then
		not_ok "$name: the shutdown transaction leaves iscsid running" "systemd stopped iscsid before / was read-only"
	else
		ok "$name: the shutdown transaction leaves iscsid running"
	fi
	if grep -q 'reboot: Power down' "$RUN_DIR/poweroff.log"; then
		ok "$name: the kernel powered down"
	else
		not_ok "$name: the kernel powered down" "no 'reboot: Power down' on the console"
	fi
}
