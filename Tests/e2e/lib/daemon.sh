# shellcheck shell=bash
# Assertions on iscsi-rootd itself. Each runs through daemon_check, which calls it only when
# /usr/bin/iscsi-rootd is in the guest and otherwise reports "not ok - NAME: iscsi-rootd not installed",
# so nothing passes before the daemon does. Each function gets the assertion's NAME and reports with ok/not_ok.
# Sourced by Tests/e2e/run.

DAEMON_INSTALLED=

# The MESSAGE_ID of the catalog entry with this Subject, from the project's catalog as installed: the IDs
# are defined once, in the project.
message_id() {
	awk -v subject="Subject: $1" '/^-- [0-9a-f]+$/ { id = $2 } $0 == subject { print id; found = 1; exit }
		END { exit !found }' "$PROJECT_DEST/usr/lib/systemd/catalog/iscsi-rootd.catalog" ||
		echo "# no entry with Subject: $1 in the installed catalog" >&2
}

# Sets DAEMON_JOURNAL to the daemon's journal entries of this boot, one JSON object a line.
read_daemon_journal() {
	guest "journalctl -b -o json --no-pager _SYSTEMD_UNIT=iscsi-rootd.service" || true
	DAEMON_JOURNAL=$GUEST_OUT
}

# journal_count SUBJECT [SINCE]: how many of the daemon's entries have that catalog entry's MESSAGE_ID
# (logged at or after the guest's epoch second SINCE).
journal_count() {
	echo "$DAEMON_JOURNAL" | jq --arg id "$(message_id "$1")" --argjson since "${2:-0}" \
		'select(.MESSAGE_ID == $id and (.__REALTIME_TIMESTAMP | tonumber) >= $since * 1000000)' 2> /dev/null |
		grep -c '^{' || true
}

# daemon_check NAME FUNCTION [ARGUMENTS...]: FUNCTION NAME ARGUMENTS... if the daemon is in the guest.
daemon_check() {
	local name=$1 check=$2
	shift 2
	if [[ -z $DAEMON_INSTALLED ]]; then
		if guest "test -x /usr/bin/iscsi-rootd"; then DAEMON_INSTALLED=yes; else DAEMON_INSTALLED=no; fi
	fi
	if [[ $DAEMON_INSTALLED == yes ]]; then
		"$check" "$name" "$@"
	else
		not_ok "$name" "iscsi-rootd not installed"
	fi
}

# Type=notify units become active only after READY=1.
assert_daemon_ready() {
	guest "systemctl show -p Type -p ActiveState -p SubState --value iscsi-rootd.service" || true
	local state
	state=$(echo "$GUEST_OUT" | paste -sd ' ')
	if [[ $state == "notify active running" ]]; then
		ok "$1"
		return
	fi
	guest "systemctl show -p ExecMainCode -p ExecMainStatus iscsi-rootd.service; journalctl -b _SYSTEMD_UNIT=iscsi-rootd.service -n 3 -o cat --no-pager" || true
	not_ok "$1" "Type/ActiveState/SubState: $state; $GUEST_OUT"
}

assert_root_disk_timeout() {
	guest "cat /sys/block/sda/device/timeout" || true
	if [[ $GUEST_OUT == 90 ]]; then ok "$1"; else not_ok "$1" "sda device/timeout is '$GUEST_OUT'"; fi
}

assert_root_disk_scheduler() {
	guest "cat /sys/block/sda/queue/scheduler" || true
	if [[ $GUEST_OUT == *"[none]"* ]]; then ok "$1"; else not_ok "$1" "sda queue/scheduler is '$GUEST_OUT'"; fi
}

# TODO: pin the field names once the status JSON schema is settled (issue 3).
assert_status_json() {
	local status=0
	guest "iscsi-rootd status --json" || status=$?
	if ((status != 0)); then
		not_ok "$1" "iscsi-rootd status --json exited $status: $(echo "$GUEST_OUT" | head -n 3)"
	elif ! echo "$GUEST_OUT" | jq -e '.overall == "ok"' > /dev/null 2>&1; then
		not_ok "$1" "status JSON without overall ok: $(echo "$GUEST_OUT" | head -c 300)"
	else
		ok "$1"
	fi
}

# `check` finds the boot and shutdown chain of this client in order (the guest is set up as the project's
# examples say, see setup_root_client).
assert_check_json() {
	local status=0 problems
	guest "iscsi-rootd check --json" || status=$?
	problems=$(echo "$GUEST_OUT" | jq -r '.items[] | select(.verdict != "ok") | "\(.id) \(.verdict): \(.detail)"' 2> /dev/null |
		paste -sd ';')
	if ((status == 0)) && echo "$GUEST_OUT" | jq -e '.overall == "ok"' > /dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1" "check --json exited $status; ${problems:-$(echo "$GUEST_OUT" | head -n 3)}"
	fi
}

# The root chain in `status --json` names the session that sda hangs under in sysfs.
assert_root_chain_session() {
	local session
	# shellcheck disable=SC2016 # expanded by the guest's shell
	guest 'd=$(readlink -f /sys/block/sda); s=${d#*/session}; echo session${s%%/*}' || true
	session=$GUEST_OUT
	guest "iscsi-rootd status --json" || true
	if echo "$GUEST_OUT" | jq -e --arg s "$session" '.root.disk == "sda" and .root.session == $s' > /dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1" "sda is on $session; status --json root: $(echo "$GUEST_OUT" | jq -c .root 2> /dev/null)"
	fi
}

# The daemon's start and the root disk's tuning are in the journal under their catalog MESSAGE_IDs.
assert_journal_message_ids() {
	read_daemon_journal
	local started tuned
	started=$(journal_count "iscsi-rootd started")
	tuned=$(journal_count "iSCSI disk tuned")
	if ((started >= 1 && tuned >= 1)); then
		ok "$1"
	else
		not_ok "$1" "entries: $started 'iscsi-rootd started', $tuned 'iSCSI disk tuned'"
	fi
}

# A scheduler changed behind the daemon's back is set back to none and reported in the journal.
assert_drift_corrected() {
	local waited=0
	guest "echo mq-deadline > /sys/block/sda/queue/scheduler" || { not_ok "$1" "cannot write the scheduler: $GUEST_OUT"; return; }
	until guest "grep -q '\[none\]' /sys/block/sda/queue/scheduler"; do
		((++waited < 10)) || { not_ok "$1" "scheduler still not none 5 s after setting mq-deadline"; return; }
		sleep 0.5
	done
	read_daemon_journal
	if (($(journal_count "iSCSI disk setting changed by someone else and corrected") >= 1)); then
		ok "$1"
	else
		not_ok "$1" "corrected, but no journal entry 'iSCSI disk setting changed by someone else and corrected'"
	fi
}

# The outage in the journal, logged at or after the guest's epoch second $2. The guest's root session has
# NOPs off (the recommended setting), so the kernel keeps it LOGGED_IN and the outage shows as an I/O stall.
assert_outage_reported() {
	read_daemon_journal
	local stalled cleared
	stalled=$(journal_count "I/O to an iSCSI disk is stalled" "$2")
	cleared=$(journal_count "I/O to an iSCSI disk flows again" "$2")
	if ((stalled >= 1 && cleared >= 1)); then
		ok "$1"
	else
		not_ok "$1" "entries since the outage: $stalled 'I/O to an iSCSI disk is stalled', $cleared 'I/O to an iSCSI disk flows again'"
	fi
}

# A LUN added at the root target and found by a rescan is tuned within 1 s of appearing in sysfs (the daemon
# acts on its udev event).
assert_hot_added_lun_tuned() {
	local known disk delay timeout scheduler
	guest "ls /sys/block" || true
	known=$(echo "$GUEST_OUT" | grep '^sd' | paste -sd ' ')
	truncate -s 64M "$RUN_DIR/extra.img"
	target_add_lun 1 2 "$RUN_DIR/extra.img" || { not_ok "$1" "tgtadm could not add LUN 2"; return; }
	if ! guest -t 30 "iscsiadm -m session -R > /dev/null && /usr/local/lib/e2e/tuned-delay $known"; then
		not_ok "$1" "no new disk after the rescan: $GUEST_OUT"
		return
	fi
	read -r disk delay timeout scheduler <<< "$GUEST_OUT"
	if [[ $timeout == 90 && $scheduler == *"[none]"* ]] && awk -v d="$delay" 'BEGIN { exit !(d <= 1.0) }'; then
		ok "$1"
	else
		not_ok "$1" "$disk after $delay s: timeout $timeout, scheduler $scheduler"
	fi
}
