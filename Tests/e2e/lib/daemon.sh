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

# journal_entries SUBJECT [SINCE]: the daemon's entries with that catalog entry's MESSAGE_ID (logged at or
# after the guest's epoch second SINCE), one compact JSON object a line.
journal_entries() {
	journal_entries_with_id "$(message_id "$1")" "${2:-0}"
}

# journal_entries_with_id MESSAGE_ID [SINCE]: the same for a MESSAGE_ID.
journal_entries_with_id() {
	echo "$DAEMON_JOURNAL" | jq -c --arg id "$1" --argjson since "${2:-0}" \
		'select(.MESSAGE_ID == $id and (.__REALTIME_TIMESTAMP | tonumber) >= $since * 1000000)' 2> /dev/null || true
}

# journal_entry_after SUBJECT SINCE UPTIME [SELECT]: reads the daemon's journal and sets JOURNAL_ENTRY to its first
# SUBJECT entry (since SINCE) logged at or after the guest's uptime UPTIME (its monotonic clock, seconds) that
# passes the jq condition SELECT, and JOURNAL_DELAY to the seconds from UPTIME to it (two decimals). Returns 1
# when there is none.
journal_entry_after() {
	read_daemon_journal
	JOURNAL_ENTRY=$(journal_entries "$1" "$2" |
		jq -c --arg at "$3" "select((.__MONOTONIC_TIMESTAMP | tonumber) >= (\$at | tonumber) * 1000000 and (${4:-true}))" |
		head -n 1 || true)
	[[ -n $JOURNAL_ENTRY ]] || return 1
	JOURNAL_DELAY=$(jq -r --arg at "$3" '(.__MONOTONIC_TIMESTAMP | tonumber) / 1000000 - ($at | tonumber) | . * 100 | round / 100' <<< "$JOURNAL_ENTRY")
}

# assert_journaled_within NAME LIMIT WHEN CHECK ARG SUBJECT SINCE UPTIME [SELECT]: the first SUBJECT entry after the
# guest's uptime UPTIME (journal_entry_after) came at most LIMIT s later and passes the jq condition CHECK, in
# which $p is ARG. WHEN says what happened at UPTIME.
assert_journaled_within() {
	local name=$1 limit=$2 when=$3 check=$4 arg=$5
	shift 5
	if ! journal_entry_after "$@"; then
		not_ok "$name" "no '$1' entry after guest uptime $3"
		return
	fi
	note "journaled $JOURNAL_DELAY s after $when: $(jq -r .MESSAGE <<< "$JOURNAL_ENTRY")"
	if at_most "$JOURNAL_DELAY" "$limit" && jq -e --arg p "$arg" "$check" <<< "$JOURNAL_ENTRY" > /dev/null 2>&1; then
		ok "$name"
	else
		not_ok "$name" "after $JOURNAL_DELAY s (limit $limit s): $(jq -c 'with_entries(select(.key | startswith("_") | not))' <<< "$JOURNAL_ENTRY")"
	fi
}

# journal_sequence FIRST THEN SINCE SELECT [THEN_SELECT]: sets JOURNAL_FIRST to the first FIRST entry (since SINCE)
# that passes the jq condition SELECT, and JOURNAL_THEN to the first THEN entry logged after it that passes SELECT
# and THEN_SELECT (each compact JSON, empty when there is none).
journal_sequence() {
	read_daemon_journal
	local after
	JOURNAL_FIRST=$(journal_entries "$1" "$3" | jq -c "select($4)" | head -n 1 || true)
	after=0
	[[ -z $JOURNAL_FIRST ]] || after=$(jq -r '.__REALTIME_TIMESTAMP' <<< "$JOURNAL_FIRST")
	JOURNAL_THEN=$(journal_entries "$2" "$3" |
		jq -c --arg after "$after" "select(($4) and (${5:-true}) and (.__REALTIME_TIMESTAMP | tonumber) > (\$after | tonumber))" |
		head -n 1 || true)
}

# assert_journaled NAME SUBJECT SINCE SELECT: the daemon journaled a SUBJECT entry since SINCE that passes the jq
# condition SELECT.
assert_journaled() {
	read_daemon_journal
	local entry
	entry=$(journal_entries "$2" "$3" | jq -r "select($4) | \"\\(.PRIORITY) \\(.MESSAGE)\"" | head -n 1 || true)
	if [[ -n $entry ]]; then
		note "journal: $entry"
		ok "$1"
	else
		not_ok "$1" "no '$2' entry with $4 since $3 (entries: $(journal_count "$2" "$3"); the first: $(journal_entries "$2" "$3" | head -n 1 | head -c 300))"
	fi
}

# found TEXT: "found" when TEXT is not empty, else "missing".
found() {
	if [[ -n $1 ]]; then echo found; else echo missing; fi
}

# at_most SECONDS LIMIT: whether SECONDS (a decimal) is at most LIMIT.
at_most() {
	awk -v d="$1" -v limit="$2" 'BEGIN { exit !(d <= limit) }'
}

# journal_count SUBJECT [SINCE]: how many of them.
journal_count() {
	journal_entries "$@" | grep -c '^{' || true
}

# journal_unread SUBJECT: why a count of SUBJECT entries in DAEMON_JOURNAL (read_daemon_journal) proves nothing, or
# nothing when it does: the subject is in no catalog entry, or the journal read holds not even the daemon's start.
# An assertion that none was logged needs it: a failed lookup or read counts 0 as well.
journal_unread() {
	if [[ -z $(message_id "$1") ]]; then
		echo "no catalog entry '$1'"
	elif (($(journal_count "iscsi-rootd started") == 0)); then
		echo "the daemon's journal was not read (no 'iscsi-rootd started' entry in it)"
	fi
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
# check --json: every item ok, except the one warning Debian 12's systemd 252 earns: it ignores
# SurviveFinalKillSignal= (255 and later honour it), which check learns from systemd itself.
assert_check_json() {
	local status=0 problems
	guest "iscsi-rootd check --json" || status=$?
	problems=$(echo "$GUEST_OUT" | jq -r '.items[] | select(.verdict != "ok")
		| select((.id == "iscsid-shutdown" and .verdict == "warn" and (.detail | test("^SurviveFinalKillSignal=yes is set, but systemd 25[0-4] ignores it"))) | not)
		| "\(.id) \(.verdict): \(.detail)"' 2> /dev/null | paste -sd ';')
	if ((status <= 1)) && [[ -z $problems ]] && echo "$GUEST_OUT" | jq -e '.overall == "ok" or .overall == "warn"' > /dev/null 2>&1; then
		[[ $status == 0 ]] || note "check: iscsid-shutdown warns that this systemd ignores SurviveFinalKillSignal= (known, systemd < 255)"
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

# A scheduler changed behind the daemon's back is set back to none and reported in the journal. Writing
# queue/scheduler sends no uevent, so the daemon's drift sweep finds it: within VerifyInterval (2 s, set by
# configure_guest) plus 3 s.
assert_drift_corrected() {
	local waited=0 since
	guest "date +%s" || true
	since=$GUEST_OUT
	guest "echo mq-deadline > /sys/block/sda/queue/scheduler" || { not_ok "$1" "cannot write the scheduler: $GUEST_OUT"; return; }
	until guest "grep -q '\[none\]' /sys/block/sda/queue/scheduler"; do
		((++waited < 10)) || { not_ok "$1" "scheduler still not none 5 s after setting mq-deadline"; return; }
		sleep 0.5
	done
	assert_journaled "$1" "iSCSI disk setting changed by someone else and corrected" "$since" \
		'.DEVICE == "sda" and .SETTING == "scheduler" and .OLD_VALUE == "mq-deadline" and .NEW_VALUE == "none"'
}

# assert_recovery_reported NAME SINCE SESSION: sessionFailed, then sessionRecovered with DURATION_USEC.
assert_recovery_reported() {
	local recovered
	journal_sequence "iSCSI session failed; I/O waits for recovery" "iSCSI session recovered" "$2" \
		".ISCSI_SESSION == \"$3\"" '.DURATION_USEC // "" | test("^[0-9]+$")'
	recovered=$(jq -r '.DURATION_USEC // empty' <<< "$JOURNAL_THEN")
	if [[ -n $JOURNAL_FIRST && -n $recovered ]]; then
		note "$3 recovered after $((recovered / 1000)) ms (DURATION_USEC)"
		ok "$1"
	else
		not_ok "$1" "$3: failed entry $(found "$JOURNAL_FIRST"), recovered entry with DURATION_USEC ${recovered:-missing}"
	fi
}

# assert_stall_in_time NAME UPTIME: the first "I/O to an iSCSI disk is stalled" entry for sda after the
# guest's uptime UPTIME (its monotonic clock; the first write after the stop) came at most StallThreshold
# (5 s) + 1.25 s later. The daemon's own bound is StallThreshold + 0.75 s: it dates a stall's start within half
# the idle sampling interval (0.5 s) of the first stuck request and samples every 0.25 s once requests are in
# flight. The last 0.5 s is for what the harness cannot see: the writer's time from its start to its first
# request reaching the disk, and the loop's turns under TCG on a loaded host (5.31, 5.95 and 5.17 s were
# measured; the second's entry said "stalled 5.2 s").
assert_stall_in_time() {
	assert_journaled_within "$1" 6.25 "the first write" '.INFLIGHT | tonumber > 0' "" \
		"I/O to an iSCSI disk is stalled" 0 "$2" '.DEVICE == "sda"'
}

# assert_stall_cleared NAME SINCE: "I/O to an iSCSI disk flows again" for sda after its stall entry.
assert_stall_cleared() {
	journal_sequence "I/O to an iSCSI disk is stalled" "I/O to an iSCSI disk flows again" "$2" '.DEVICE == "sda"'
	if [[ -n $JOURNAL_FIRST && -n $JOURNAL_THEN ]]; then
		note "$(jq -r .MESSAGE <<< "$JOURNAL_THEN")"
		ok "$1"
	else
		not_ok "$1" "stall entry $(found "$JOURNAL_FIRST"), 'flows again' entry after it $(found "$JOURNAL_THEN")"
	fi
}

# assert_status_critical NAME [SESSION] DISK: `status --json` exits 2, overall critical, with critical
# findings for SESSION (if given) and DISK.
assert_status_critical() {
	local status=0 subjects
	guest "iscsi-rootd status --json" || status=$?
	subjects=$(echo "$GUEST_OUT" | jq -r '.findings[] | select(.severity == "critical") | .subject' 2> /dev/null | paste -sd ' ')
	if ((status == 2)) && echo "$GUEST_OUT" | jq -e '.overall == "critical"' > /dev/null 2>&1 &&
		[[ -z $2 || " $subjects " == *" $2 "* ]] && [[ " $subjects " == *" $3 "* ]]; then
		ok "$1"
	else
		not_ok "$1" "exit $status, critical findings for: ${subjects:-none}; $(echo "$GUEST_OUT" | jq -c '[.findings[] | .message]' 2> /dev/null | head -c 200)"
	fi
}

# assert_no_root_finding NAME: no finding of `status --json` concerns sda or the root's session.
assert_no_root_finding() {
	guest "iscsi-rootd status --json" || true
	local about_root
	about_root=$(echo "$GUEST_OUT" | jq -r '.root.session as $s | .findings[] | select(.subject == "sda" or .subject == $s) | .message' 2> /dev/null)
	if echo "$GUEST_OUT" | jq -e '.root.disk == "sda"' > /dev/null 2>&1 && [[ -z $about_root ]]; then
		ok "$1"
	else
		not_ok "$1" "${about_root:-no root in status --json}"
	fi
}

# assert_io_failing_reported NAME SINCE SESSION
assert_io_failing_reported() {
	read_daemon_journal
	local entry
	entry=$(journal_entries "iSCSI recovery timed out; I/O is failing" "$2" | jq -r --arg s "$3" 'select(.ISCSI_SESSION == $s) | "\(.PRIORITY) \(.MESSAGE)"' | head -n 1)
	if [[ -n $entry ]]; then
		note "journal: $entry"
		ok "$1"
	else
		not_ok "$1" "no such entry for $3"
	fi
}

# assert_status_text NAME TEXT: the unit's STATUS= contains TEXT.
assert_status_text() {
	guest "systemctl show -p StatusText --value iscsi-rootd.service" || true
	if [[ $GUEST_OUT == *"$2"* ]]; then
		note "STATUS=$GUEST_OUT"
		ok "$1"
	else
		not_ok "$1" "STATUS=$GUEST_OUT"
	fi
}

# assert_check_item NAME ID: `check --json` has item ID with verdict ok.
assert_check_item() {
	guest "iscsi-rootd check --json" || true
	local item
	item=$(echo "$GUEST_OUT" | jq -r --arg id "$2" '.items[] | select(.id == $id) | "\(.verdict): \(.detail)"' 2> /dev/null)
	if [[ $item == ok:* ]]; then
		note "check $2 $item"
		ok "$1"
	else
		not_ok "$1" "${item:-no item $2}"
	fi
}

# assert_damage_reported NAME SINCE: a "file system damaged" entry for / since SINCE.
assert_damage_reported() {
	assert_journaled "$1" "File system on an iSCSI disk damaged; writes are lost until reboot" "$2" '.MOUNT_POINT == "/"'
}

# assert_kernel_errors_correlated NAME SINCE SESSION: "Kernel storage error" entries carry KERNEL_SEQNUM,
# DEVICE=sda, ISCSI_SESSION=SESSION and MOUNT_POINT=/.
assert_kernel_errors_correlated() {
	local all correlated
	all=$(journal_count "Kernel storage error on an iSCSI disk" "$2")
	correlated=$(journal_entries "Kernel storage error on an iSCSI disk" "$2" |
		jq -c --arg s "$3" 'select((.KERNEL_SEQNUM // "" | test("^[0-9]+$")) and .DEVICE == "sda" and .ISCSI_SESSION == $s and .MOUNT_POINT == "/")')
	if [[ -n $correlated ]]; then
		note "$(grep -c '^{' <<< "$correlated") of $all kernel entries fully correlated, e.g. $(head -n 1 <<< "$correlated" | jq -r '.MESSAGE')"
		ok "$1"
	else
		not_ok "$1" "$all kernel storage entries, none with all four fields: $(journal_entries "Kernel storage error on an iSCSI disk" "$2" | head -n 1 | jq -c '{MESSAGE, KERNEL_SEQNUM, DEVICE, ISCSI_SESSION, MOUNT_POINT}' 2> /dev/null)"
	fi
}

# A LUN added at the root target and found by a rescan is tuned within 1 s of appearing in sysfs (the daemon
# acts on its udev event).
assert_hot_added_lun_tuned() {
	local known disk delay timeout scheduler
	guest "ls /sys/block" || true
	known=$(echo "$GUEST_OUT" | grep '^sd' | paste -sd ' ')
	truncate -s 64M "$RUN_DIR/extra.img"
	target_add_lun 2 "$RUN_DIR/extra.img" || { not_ok "$1" "tgtadm could not add LUN 2"; return; }
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
