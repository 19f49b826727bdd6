# shellcheck shell=bash
# The scenarios of issue 6, one function each, run in the order of SCENARIOS on one booted guest.
# Sourced by Tests/e2e/run.

# e-poweroff ends the first boot; h-dead-root kills its guest's root file system, so it gets a boot of its own
# (a fresh copy of root.img) and comes last.
SCENARIOS=(a-boot b-drift c-outage d-loss f-hardening g-networkd e-poweroff h-dead-root)
OWN_BOOT_SCENARIOS=(h-dead-root)
OUTAGE_SECONDS=30
POWEROFF_TIMEOUT=90
# Shorter than the outages that outlast them; the data session's kernel notices an outage through its NOPs
# within 10 s.
LOSS_RECOVERY_TMO=5
DEAD_ROOT_RECOVERY_TMO=15

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

# c. Outage: the data target is stopped first (its session has NOPs on: FAILED, STATUS= shows the recovery),
# then the root target for OUTAGE_SECONDS (NOPs off: the session stays LOGGED_IN, root I/O stalls); both
# continue together. Root I/O blocks and completes, data survives, the guest is usable again, and the
# journal has the data session's failure and recovery and the root stall in time.
scenario_c_outage() {
	local name=c-outage file=/var/tmp/e2e-outage.bin before after stopped continued guest_start data_session
	local status_text='' stop_uptime write_uptime='' waited=0 stop_epoch continue_epoch
	if ! guest -t 120 "dd if=/dev/urandom of=$file bs=65536 count=256 2> /dev/null && sync && sha256sum $file"; then
		not_ok "$name: test file written" "$GUEST_OUT"
		return
	fi
	before=${GUEST_OUT%% *}
	guest "date +%s" || true
	guest_start=$GUEST_OUT
	guest_login_data || { not_ok "$name: data LUN logged in with NOPs on" "$GUEST_OUT"; return; }
	guest_session_of_target "$DATA_IQN"
	data_session=$GUEST_SESSION

	kill -STOP "$DATA_TGTD_PID"
	note "data tgtd stopped"
	while ((waited++ < 30)); do
		guest "systemctl show -p StatusText --value iscsi-rootd.service" || true
		if [[ $GUEST_OUT == RECOVERY* ]]; then
			status_text=$GUEST_OUT
			break
		fi
		sleep 1
	done
	if [[ -n $status_text ]]; then
		note "STATUS=$status_text"
		ok "$name: STATUS= shows RECOVERY while the data session ($data_session, NOPs on) is down"
	else
		not_ok "$name: STATUS= shows RECOVERY while the data session ($data_session, NOPs on) is down" "STATUS=$GUEST_OUT"
	fi

	fleet_clock_offset
	guest "sync && echo 3 > /proc/sys/vm/drop_caches && cat /proc/uptime" || true
	stop_uptime=${GUEST_OUT%% *}
	fleet_scrape_start
	stop_epoch=$(date +%s.%N)
	kill -STOP "$TGTD_PID"
	stopped=$SECONDS
	note "root tgtd stopped for $OUTAGE_SECONDS s at guest uptime $stop_uptime"
	# Until the target is back the guest runs only busybox applets (from /run), nothing from the root disk.
	# The writer notes when it starts: the daemon cannot see a stall before a request is in flight, and
	# the agent's round trips between the stop and this write are the harness's time, not the daemon's.
	guest "rm -f /run/e2e/writer.rc; setsid sh -c 'read -r up _ < /proc/uptime; echo \$up > /run/e2e/writer.start; echo outage > /var/tmp/e2e-during && sync; echo \$? > /run/e2e/writer.rc' > /dev/null 2>&1 &" || true
	sleep 10
	if guest -t 10 "cat /run/e2e/writer.rc 2> /dev/null || echo pending; cat /sys/class/iscsi_session/*/state /sys/block/sda/inflight"; then
		note "during the outage: writer $(echo "$GUEST_OUT" | paste -sd ' ')"
		if [[ $(echo "$GUEST_OUT" | head -n 1) == pending ]]; then
			ok "$name: root write+sync blocks while the target is stopped"
		else
			not_ok "$name: root write+sync blocks while the target is stopped" "the writer finished: $GUEST_OUT"
		fi
	else
		not_ok "$name: root write+sync blocks while the target is stopped" "the agent did not answer during the outage"
	fi
	sleep_out "$OUTAGE_SECONDS" "$stopped"
	continue_epoch=$(date +%s.%N)
	kill -CONT "$TGTD_PID" "$DATA_TGTD_PID"
	continued=$SECONDS
	fleet_scrape_stop
	note "both tgtds continued; the root's was stopped $((continued - stopped)) s"

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
	assert_root_session_logged_in "$name: the root session is LOGGED_IN again"
	if guest -t 30 "echo after > /var/tmp/e2e-after && sync && systemctl is-system-running" && [[ $GUEST_OUT == running ]]; then
		ok "$name: guest usable again (write, sync, systemd running)"
	else
		not_ok "$name: guest usable again (write, sync, systemd running)" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	wait_for_session_state "$data_session" LOGGED_IN 60
	note "$data_session: $GUEST_OUT $((SECONDS - continued)) s after the target returned"
	daemon_check "$name: journal: $data_session failed, then recovered with DURATION_USEC" \
		assert_recovery_reported "$guest_start" "$data_session"
	guest "cat /run/e2e/writer.start" && write_uptime=${GUEST_OUT%% *}
	note "the writer started $(awk -v w="${write_uptime:-0}" -v s="$stop_uptime" 'BEGIN { printf "%.2f", w - s }') s after the stop"
	daemon_check "$name: root stall journaled within StallThreshold + 1.25 s of the first write after the stop, with INFLIGHT" \
		assert_stall_in_time "${write_uptime:-$stop_uptime}"
	daemon_check "$name: root stall cleared after the target returned" assert_stall_cleared "$guest_start"
	daemon_check "$name: live metrics" fleet_during_outage "$stop_epoch" "$continue_epoch"
	fleet_after_outage "$name" "$data_session"
	guest_logout_data || note "data logout: $GUEST_OUT"
	daemon_check "$name: status --json overall ok again, no stall" assert_status_json
}

# wait_for_session_state SESSION STATE SECONDS: polls the session's sysfs state; GUEST_OUT is the last one.
wait_for_session_state() {
	local deadline=$((SECONDS + $3))
	until guest "cat /sys/class/iscsi_session/$1/state" && [[ $GUEST_OUT == "$2" ]]; do
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

assert_root_session_logged_in() {
	guest_session_of_target "$ROOT_IQN"
	if guest "cat /sys/class/iscsi_session/$GUEST_SESSION/state" && [[ $GUEST_OUT == LOGGED_IN ]]; then
		ok "$1"
	else
		not_ok "$1" "${GUEST_SESSION:-no session}: $GUEST_OUT"
	fi
}

# set_recovery_tmo_kept NAME SESSION SECONDS [COMMAND]: runs the guest COMMAND (if any), writes SECONDS into
# SESSION's recovery_tmo and asserts that it still reads SECONDS 3 s later (the daemon left it alone); returns 1
# when it does not.
set_recovery_tmo_kept() {
	local file=/sys/class/iscsi_session/$2/recovery_tmo
	guest "${4:-true} && echo $3 > $file && sleep 3 && cat $file" || true
	if [[ $GUEST_OUT == "$3" ]]; then
		ok "$1"
	else
		not_ok "$1" "reads '$GUEST_OUT'"
		return 1
	fi
}

# d. Loss: the data session (NOPs on) with recovery_tmo LOSS_RECOVERY_TMO and its target stopped longer than
# that: FREE, its disk transport-offline, reported as critical while the root carries on.
scenario_d_loss() {
	local name=d-loss session disk since stopped
	guest "date +%s" || true
	since=$GUEST_OUT
	guest_login_data || { not_ok "$name: data LUN logged in" "$GUEST_OUT"; return; }
	guest_session_of_target "$DATA_IQN"
	session=$GUEST_SESSION
	guest_disk_of_target "$DATA_IQN"
	disk=$GUEST_DISK
	# The daemon raises recovery_tmo only for sessions that carry /, /usr or swap: a short one here stays.
	set_recovery_tmo_kept "$name: recovery_tmo of $session set to $LOSS_RECOVERY_TMO s while LOGGED_IN, and kept" \
		"$session" "$LOSS_RECOVERY_TMO" || true

	kill -STOP "$DATA_TGTD_PID"
	stopped=$SECONDS
	note "data tgtd stopped"
	local deadline=$((SECONDS + 45))
	until guest "cat /sys/class/iscsi_session/$session/state /sys/block/$disk/device/state" &&
		[[ $(echo "$GUEST_OUT" | paste -sd ' ') == "FREE transport-offline" ]]; do
		((SECONDS < deadline)) || break
		sleep 1
	done
	if [[ $(echo "$GUEST_OUT" | paste -sd ' ') == "FREE transport-offline" ]]; then
		note "$session FREE, $disk transport-offline $((SECONDS - stopped)) s into the outage"
		ok "$name: $session FREE and $disk transport-offline once the outage outlasts recovery_tmo"
	else
		not_ok "$name: $session FREE and $disk transport-offline once the outage outlasts recovery_tmo" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	daemon_check "$name: status exits 2, overall critical, naming $session and $disk" assert_status_critical "$session" "$disk"
	daemon_check "$name: journal has 'recovery timed out; I/O is failing' for $session" assert_io_failing_reported "$since" "$session"
	daemon_check "$name: STATUS= says I/O FAILING for $session" assert_status_text "I/O FAILING $session"
	# shellcheck disable=SC2016 # expanded by the guest's shell
	if guest -t 20 'echo loss > /var/tmp/e2e-loss && sync && d=$(readlink -f /sys/block/sda); s=${d#*/session}; cat /sys/class/iscsi_session/session${s%%/*}/state /sys/block/sda/device/state' &&
		[[ $(echo "$GUEST_OUT" | paste -sd ' ') == "LOGGED_IN running" ]]; then
		ok "$name: the root stays fine: write+sync on / completes, its session LOGGED_IN, sda running"
	else
		not_ok "$name: the root stays fine: write+sync on / completes, its session LOGGED_IN, sda running" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	daemon_check "$name: status --json has no finding about the root" assert_no_root_finding
	kill -CONT "$DATA_TGTD_PID"
	if wait_for_session_state "$session" LOGGED_IN 60; then
		note "$session logged in again $((SECONDS - stopped)) s after the stop"
	else
		note "$session still $GUEST_OUT 60 s after the target returned"
	fi
	guest_logout_data || note "data logout: $GUEST_OUT"
}

# f. Hardening: the figure of the unit every scenario before ran with.
scenario_f_hardening() {
	local name=f-hardening exposure
	guest "systemd-analyze security --no-pager iscsi-rootd.service" || true
	exposure=$(echo "$GUEST_OUT" | sed -n 's/.*Overall exposure level for iscsi-rootd.service: \([0-9.]*\).*/\1/p')
	note "systemd-analyze security iscsi-rootd.service: ${exposure:-no figure} ($(echo "$GUEST_OUT" | tail -n 1))"
	if [[ -n $exposure ]] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
		ok "$name: systemd-analyze security exposure $exposure <= 2.0"
	else
		not_ok "$name: systemd-analyze security exposure <= 2.0" "${exposure:-$(echo "$GUEST_OUT" | tail -n 2)}"
	fi
	# The capability set the daemon runs with (docs/security.md): CAP_NET_ADMIN (12), CAP_SYS_RESOURCE (24),
	# CAP_SYSLOG (34), nothing else, effective and bounding.
	guest "grep -E '^Cap(Eff|Bnd):' /proc/\$(systemctl show -p MainPID --value iscsi-rootd.service)/status" || true
	if [[ $(echo "$GUEST_OUT" | tr -s ' \t' ' ' | paste -sd ' ') == "CapEff: 0000000401001000 CapBnd: 0000000401001000" ]]; then
		ok "$name: the daemon runs with CAP_NET_ADMIN CAP_SYS_RESOURCE CAP_SYSLOG only"
	else
		not_ok "$name: the daemon runs with CAP_NET_ADMIN CAP_SYS_RESOURCE CAP_SYSLOG only" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	# Locked memory of the running service (issue 14): mlockall locks every mapped page, so this is the
	# daemon's whole cost in RAM; iscsid locks about 14 MiB on the same client. Its threads: the loop (main),
	# one per event source, the metrics file's writer and the /metrics endpoint's (this guest enables both
	# iscsi-rootd-metrics.socket and the textfile), no Swift concurrency (libdispatch's threads would wake it
	# every second).
	guest "pid=\$(systemctl show -p MainPID --value iscsi-rootd.service); grep -E '^(VmLck|VmRSS|Threads):' /proc/\$pid/status; readlink /proc/\$pid/exe; echo threads: \$(cat /proc/\$pid/task/*/comm)" || true
	local locked threads
	locked=$(echo "$GUEST_OUT" | awk '/^VmLck:/ { print $2 }')
	threads=$(echo "$GUEST_OUT" | sed -n 's/^threads: //p')
	note "iscsi-rootd service: $(echo "$GUEST_OUT" | tr -s ' \t' ' ' | paste -sd ' ')"
	# The goal (issues 14 and 25) is 16 MiB; this bound is 17 MiB. 31 MiB before the split, 15.5 MiB on
	# df4c396; 16 400 kB on 6d8f289 with both metrics outputs on and the status view, the endpoint's thread
	# among them: the goal is missed by 16 KiB here and stays open in docs/benchmarks.md.
	if [[ -n $locked ]] && ((locked > 0 && locked <= 17 * 1024)) && [[ $GUEST_OUT == *"/usr/bin/iscsi-rootd-daemon"* ]]; then
		ok "$name: iscsi-rootd-daemon runs the service and locks $locked KiB (<= 17 MiB; goal 16 MiB)"
	else
		not_ok "$name: iscsi-rootd-daemon runs the service and locks at most 17 MiB" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
	if [[ -n $threads ]] && [[ -z $(echo "$threads" | tr ' ' '\n' | grep -vxE 'iscsi-rootd-dae|iscsi-udev|iscsi-netlink|iscsi-rtnetlink|iscsi-kmsg|metrics-file|metrics-http') ]]; then
		ok "$name: the daemon's threads are its loop, event sources and metrics writer and endpoint only: $threads"
	else
		not_ok "$name: the daemon's threads are its loop, event sources and metrics writer and endpoint only" "${threads:-none read}"
	fi
	guest "systemctl show -p FragmentPath -p DropInPaths iscsi-rootd.service" || true
	# /lib is /usr/lib (merged /usr); systemd names the unit under /lib.
	# The only drop-in is the example that opens the metrics directory (issue 13).
	if [[ $(echo "$GUEST_OUT" | paste -sd ' ') =~ ^FragmentPath=(/usr)?/lib/systemd/system/iscsi-rootd.service\ DropInPaths=(/etc/systemd/system/iscsi-rootd.service.d/metrics.conf)?$ ]]; then
		ok "$name: the scenarios ran with the installed unit, no drop-in but the example metrics.conf"
	else
		not_ok "$name: the scenarios ran with the installed unit, no drop-in but the example metrics.conf" "$(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
}

# g. The boot NIC under systemd-networkd with the project's KeepConfiguration=yes .network (poweroff clean:
# e-poweroff, in the same boot).
scenario_g_networkd() {
	local name=g-networkd
	# networkd's state file for the link (networkctl wants D-Bus, which this guest does not run).
	guest "cat /run/systemd/netif/links/\$(cat /sys/class/net/eth0/ifindex)" || true
	local state
	state=$(echo "$GUEST_OUT" | grep -E '^(ADMIN_STATE|OPER_STATE|NETWORK_FILE)=' | LC_ALL=C sort | paste -sd ' ')
	if [[ $state == "ADMIN_STATE=configured NETWORK_FILE=/etc/systemd/network/50-iscsi-root.network OPER_STATE=routable" ]]; then
		ok "$name: systemd-networkd manages eth0 with 50-iscsi-root.network, configured and routable"
	else
		not_ok "$name: systemd-networkd manages eth0 with 50-iscsi-root.network, configured and routable" "${state:-$GUEST_OUT}"
	fi
	daemon_check "$name: check --json network item ok" assert_check_item network
	# A restart of networkd is what #32426 is about: without KeepConfiguration= it drops the address under the root.
	guest -t 60 "/bin/ip -o monitor address > /run/e2e/ipmon 2>&1 & m=\$!; systemctl restart systemd-networkd && sleep 3; kill \$m; echo x > /var/tmp/e2e-networkd && sync && grep -c Deleted /run/e2e/ipmon" || true
	if [[ $GUEST_OUT == 0 ]]; then
		ok "$name: a restart of systemd-networkd removes no address; root I/O flows"
	else
		not_ok "$name: a restart of systemd-networkd removes no address; root I/O flows" "$(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
}

# e. Poweroff: completes in time, with no I/O errors on the console.
scenario_e_poweroff() {
	local name=e-poweroff
	# A diskless client's iscsid runs (it recovers the root session); here it may not have been needed yet.
	if guest "systemctl start iscsid.service && systemctl is-active iscsid.service"; then
		ok "$name: iscsid runs before the poweroff"
	else
		not_ok "$name: iscsid runs before the poweroff" "$GUEST_OUT"
	fi
	guest_poweroff "$name" poweroff.log
	assert_poweroff_console "$name" poweroff.log "$POWEROFF_CONSOLE_ERRORS" I/O iscsid
}

# h. A dead root (issue 4 b): the root session's recovery_tmo set short (the daemon told to keep it), its
# connection dropped and the target stopped longer than that: FREE, I/O errors, ext4 aborts its journal. The
# daemon reports the damage and keeps it critical after the session is LOGGED_IN again.
scenario_h_dead_root() {
	local name=h-dead-root session since stopped
	guest_session_of_target "$ROOT_IQN"
	session=$GUEST_SESSION
	guest "date +%s" || true
	since=$GUEST_OUT
	set_recovery_tmo_kept "$name: root recovery_tmo $DEAD_ROOT_RECOVERY_TMO s kept (RecoveryTimeout=keep, reloaded)" \
		"$session" "$DEAD_ROOT_RECOVERY_TMO" \
		"printf '[Session]\nRecoveryTimeout=keep\n' > /etc/iscsi-rootd.conf.d/60-e2e-keep.conf && systemctl reload iscsi-rootd.service" ||
		return
	guest "sync" || true
	# NOPs are off on the root session: the dropped connection is what makes the kernel see the outage.
	target_drop_root_connection || { not_ok "$name: root connection dropped at the target" "tgtadm failed"; return; }
	kill -STOP "$TGTD_PID"
	stopped=$SECONDS
	note "root connection dropped, root tgtd stopped"
	guest "setsid sh -c 'echo lost > /var/tmp/e2e-dead; sync' > /dev/null 2>&1 &" || true
	if wait_for_session_state "$session" FREE 60; then
		note "$session FREE $((SECONDS - stopped)) s after the drop"
		ok "$name: the root session is FREE after recovery_tmo"
	else
		not_ok "$name: the root session is FREE after recovery_tmo" "$GUEST_OUT"
	fi
	wait_for_line 'Aborting journal|EXT4-fs error' 30 "$RUN_DIR/console.log" || true
	sleep 2
	kill -CONT "$TGTD_PID"
	note "root tgtd continued after $((SECONDS - stopped)) s"
	if wait_for_session_state "$session" LOGGED_IN 60; then
		ok "$name: the root session is LOGGED_IN again"
	else
		not_ok "$name: the root session is LOGGED_IN again" "$GUEST_OUT"
	fi
	local kernel_lines
	kernel_lines=$(grep -cE 'session recovery timed out|rejecting I/O to offline device|I/O error, dev sda|EXT4-fs error \(device sda\)|Aborting journal on device sda' "$RUN_DIR/console.log" || true)
	if ((kernel_lines > 0)); then
		ok "$name: the console has the kernel's storage errors ($kernel_lines lines)"
	else
		not_ok "$name: the console has the kernel's storage errors" "none of recovery timed out / rejecting I/O / I/O error / EXT4-fs error / Aborting journal"
	fi
	daemon_check "$name: journal has 'File system on an iSCSI disk damaged' for /" assert_damage_reported "$since"
	daemon_check "$name: kernel lines re-emitted with KERNEL_SEQNUM, DEVICE=sda, ISCSI_SESSION=$session, MOUNT_POINT=/" \
		assert_kernel_errors_correlated "$since" "$session"
	daemon_check "$name: STATUS= says damaged, with the session LOGGED_IN again" assert_status_text damaged
	daemon_check "$name: status exits 2, overall critical, with the session LOGGED_IN again" assert_status_critical "" sda
}
