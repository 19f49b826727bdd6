# shellcheck shell=bash
# The multipath client (issue 9): / on the dm-multipath map MULTIPATH_MAP over two sessions to the root target,
# path 0 through QEMU user network n0 (10.0.2.2), path 1 through n1 (10.0.3.2); the QEMU monitor's set_link
# cuts a path. The scenarios run in this order on one guest of their own (lib/build-multipath.sh).
# Sourced by Tests/e2e/run.

SCENARIOS+=(m-paths m-one-cut m-both-cut m-poweroff)
SCENARIO_BOOT[m-paths]=multipath
SCENARIO_BOOT[m-one-cut]=multipath
SCENARIO_BOOT[m-both-cut]=multipath
SCENARIO_BOOT[m-poweroff]=multipath
ONE_CUT_SECONDS=30
BOTH_CUT_SECONDS=20
# The daemon's poll interval (iscsi-rootd run --poll-interval, default 5 s): a path that goes down is reported
# within it.
POLL_INTERVAL=5
# The daemon's journal entries about a root map's paths (MessageKind rootDegraded, pathRestored, noPathLeft).
ROOT_DEGRADED_ID=56b3151cb24a4a7e83293712b2b644d2
PATH_RESTORED_ID=07aefff971f348fd93b390950944d005
NO_PATH_LEFT_ID=0f14248179d24522a5264d3c863e17c1
# The paths' settings from the initramfs (guest/init): NOPs every 5 s with a 5 s timeout, replacement_timeout
# (the session's recovery_tmo) 5 s.
PATH_NOP_SECONDS=5
PATH_RECOVERY_TMO=5

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
	# A path can bounce once at boot: with NOPs 5/5 s a guest busy booting under TCG can miss a NOP reply
	# (seen once in CI: session2 FAILED right after boot, both paths active a second later). iscsid logs it
	# in again; the check is that both paths settle LOGGED_IN, and a bounce is said, not hidden.
	local waited=0
	while ((waited < 20)) && [[ "${PATH_LINE[0]}" != *" LOGGED_IN" || "${PATH_LINE[1]}" != *" LOGGED_IN" ]]; do
		sleep 1
		waited=$((waited + 1))
		read_paths
	done
	if ((waited > 0)); then
		note "a path was not LOGGED_IN at first look; both settled after $waited s: $(paste -sd ';' <<< "$PATH_LINES")"
		guest "dmesg | grep -E 'conn error|detected' | tail -n 4" || true
		note "kernel: $(paste -sd ';' <<< "$GUEST_OUT")"
	fi
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
	daemon_check "$name: the paths' recovery_tmo stays $PATH_RECOVERY_TMO s (iscsi-rootd never raises it)" assert_paths_recovery_tmo_kept
	daemon_check "$name: status --json ok: / on $MULTIPATH_MAP, 2 of 2 paths up, both sessions are paths" \
		assert_multipath_status ok 2
	daemon_check "$name: status says 2 of 2 paths" assert_status_says "2 of 2 paths"
}

# assert_status_says NAME TEXT: `iscsi-rootd status` (text) contains TEXT.
assert_status_says() {
	guest "iscsi-rootd status" || true
	if [[ $GUEST_OUT == *"$2"* ]]; then
		note "status: $(grep -m 1 -F "$2" <<< "$GUEST_OUT")"
		ok "$1"
	else
		not_ok "$1" "$(head -n 4 <<< "$GUEST_OUT")"
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
	local name=m-poweroff
	guest "systemctl is-active multipathd.service iscsid.service" || true
	if [[ $(paste -sd ' ' <<< "$GUEST_OUT") == "active active" ]]; then
		ok "$name: multipathd and iscsid run before the poweroff"
	else
		not_ok "$name: multipathd and iscsid run before the poweroff" "$(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
	guest_poweroff "$name" poweroff-multipath.log
	assert_poweroff_console "$name" poweroff-multipath.log "$POWEROFF_CONSOLE_ERRORS|queue_if_no_path|Failing path" \
		"I/O or path" multipathd iscsid
}
# set_path_link I on|off: path I's NIC link, through the QEMU monitor (its netdev is nI).
set_path_link() {
	qemu_monitor "set_link n$1 $2"
}

# start_root_writer NAME COMMAND: runs COMMAND (busybox applets writing to /) in the background, its exit
# status to /run/e2e/NAME.rc; the agent stays free while the write waits for a path.
start_root_writer() {
	guest "rm -f /run/e2e/$1.rc; setsid sh -c '$2; echo \$? > /run/e2e/$1.rc' > /dev/null 2>&1 &" || true
}

# wait_for_root_writer NAME SECONDS: its exit status in GUEST_OUT ("pending" if it has not finished).
wait_for_root_writer() {
	local deadline=$((SECONDS + $2))
	until guest -t 5 "cat /run/e2e/$1.rc 2> /dev/null || echo pending" && [[ $GUEST_OUT != pending ]]; do
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# One path cut for ONE_CUT_SECONDS: its session fails through its NOPs, multipathd fails the path over, the
# root's I/O goes on through the other path; the path comes back by itself once the link is up (iscsid logs
# it in again, multipathd's checker reinstates it).
scenario_m_one_cut() {
	local name=m-one-cut cut restored session disk since
	read_paths
	session=${PATH_SESSION[1]} disk=${PATH_DISK[1]}
	guest "date +%s" || true
	since=$GUEST_OUT
	set_path_link 1 off
	cut=$SECONDS
	note "path 1 ($session, $disk) cut for $ONE_CUT_SECONDS s"
	if wait_for_session_state "$session" FAILED 20; then
		note "$session FAILED $((SECONDS - cut)) s into the cut"
		ok "$name: path 1's session fails within 20 s (NOPs ${PATH_NOP_SECONDS}/${PATH_NOP_SECONDS} s)"
	else
		not_ok "$name: path 1's session fails within 20 s (NOPs ${PATH_NOP_SECONDS}/${PATH_NOP_SECONDS} s)" "$session: $GUEST_OUT"
	fi
	daemon_check "$name: STATUS= says degraded, 1 of 2 paths within the poll interval" \
		assert_status_text_within $((POLL_INTERVAL + 1)) degraded "1 of 2 paths"
	start_root_writer one-cut "dd if=/dev/urandom of=/var/tmp/e2e-one-cut bs=65536 count=64 2> /dev/null && sync"
	if wait_for_root_writer one-cut 20 && [[ $GUEST_OUT == 0 ]] && ((SECONDS - cut < ONE_CUT_SECONDS)); then
		note "root write+sync done $((SECONDS - cut)) s into the cut"
		ok "$name: root write+sync completes while path 1 is cut"
	else
		not_ok "$name: root write+sync completes while path 1 is cut" "writer '$GUEST_OUT' $((SECONDS - cut)) s into the cut"
	fi
	if wait_for_paths_active "${PATH_DISK[0]}" 20; then
		ok "$name: multipathd keeps only path 0 (${PATH_DISK[0]}) active"
	else
		not_ok "$name: multipathd keeps only path 0 (${PATH_DISK[0]}) active" "$(paste -sd ';' <<< "$GUEST_OUT")"
	fi
	daemon_check "$name: status --json warning: 1 of 2 paths up, $disk down" assert_multipath_status warning 1 "$disk"
	sleep_out "$ONE_CUT_SECONDS" "$cut"
	set_path_link 1 on
	restored=$SECONDS
	note "path 1 up again after $((restored - cut)) s"
	if wait_for_session_state "$session" LOGGED_IN 30; then
		note "$session LOGGED_IN $((SECONDS - restored)) s after the link came back"
		ok "$name: iscsid logs path 1 in again"
	else
		not_ok "$name: iscsid logs path 1 in again" "$session: $GUEST_OUT"
	fi
	if wait_for_paths_active "${PATH_DISK[0]} $disk" 30; then
		note "both paths active $((SECONDS - restored)) s after the link came back"
		ok "$name: multipathd has both paths active again"
	else
		not_ok "$name: multipathd has both paths active again" "$(paste -sd ';' <<< "$GUEST_OUT")"
	fi
	daemon_check "$name: journal: root degraded for $disk within the poll interval of the conn error" \
		assert_root_degraded_reported "$since" 1
	daemon_check "$name: journal: path $disk restored, 2 paths up" assert_path_restored_reported "$since" 2 "$disk"
	daemon_check "$name: status --json ok again, 2 of 2 paths up" assert_multipath_status ok 2
}

# Both paths cut for BOTH_CUT_SECONDS: the map queues (no_path_retry queue): a root write+sync waits instead of
# failing; once the links are up, the paths come back, it completes, and data written before reads back intact.
scenario_m_both_cut() {
	local name=m-both-cut file=/var/tmp/e2e-both-cut.bin before cut restored i since until
	read_paths
	if ! guest -t 120 "dd if=/dev/urandom of=$file bs=65536 count=256 2> /dev/null && sync && sha256sum $file"; then
		not_ok "$name: test file written" "$GUEST_OUT"
		return
	fi
	before=${GUEST_OUT%% *}
	# The file is read back from the disk afterwards; the tools used during the cut are in the page cache.
	# iscsi-rootd is read whole: a healthy status runs only part of its code, and a page first needed for
	# "no path left" would wait for the queued root like any other read (status timed out on a cold run).
	guest "echo 3 > /proc/sys/vm/drop_caches; cat /usr/bin/iscsi-rootd > /dev/null; systemctl show -p StatusText iscsi-rootd.service; multipathd show paths; iscsi-rootd status --json" > /dev/null || true
	guest "date +%s" || true
	since=$GUEST_OUT
	set_path_link 0 off
	set_path_link 1 off
	cut=$SECONDS
	note "both paths cut for $BOTH_CUT_SECONDS s"
	start_root_writer both-cut "echo during > /var/tmp/e2e-both-cut-during && sync"
	for i in 0 1; do
		wait_for_session_state "${PATH_SESSION[i]}" FAILED 20 || true
	done
	note "sessions: $GUEST_OUT $((SECONDS - cut)) s into the cut"
	# replacement_timeout (5 s) after the failure the paths' I/O fails; the map has nothing left and queues.
	sleep 8
	# The I/O waits in the map, not in the sessions: the paths' devices are transport-offline (their I/O failed).
	if guest -t 10 "cat /run/e2e/both-cut.rc 2> /dev/null || echo pending; cat /sys/block/${PATH_DISK[0]}/device/state /sys/block/${PATH_DISK[1]}/device/state" &&
		[[ $(paste -sd ' ' <<< "$GUEST_OUT") == "pending transport-offline transport-offline" ]]; then
		note "$((SECONDS - cut)) s into the cut: writer and path devices $(paste -sd ' ' <<< "$GUEST_OUT")"
		ok "$name: the map queues: a root write+sync waits while no path is left"
	else
		not_ok "$name: the map queues: a root write+sync waits while no path is left" "writer, path devices: $(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
	daemon_check "$name: status --json critical while no path is left" assert_multipath_status critical 0 "${PATH_DISK[@]}"
	sleep_out "$BOTH_CUT_SECONDS" "$cut"
	guest "date +%s" || true
	until=$GUEST_OUT
	set_path_link 0 on
	set_path_link 1 on
	restored=$SECONDS
	note "both paths up again after $((restored - cut)) s"
	if wait_for_root_writer both-cut 60 && [[ $GUEST_OUT == 0 ]]; then
		note "the queued write+sync finished $((SECONDS - restored)) s after the links came back"
		ok "$name: the queued write+sync completes once the paths are back"
	else
		not_ok "$name: the queued write+sync completes once the paths are back" "writer '$GUEST_OUT' $((SECONDS - restored)) s after"
	fi
	if wait_for_paths_active "${PATH_DISK[0]} ${PATH_DISK[1]}" 40; then
		ok "$name: both paths active again"
	else
		not_ok "$name: both paths active again" "$(paste -sd ';' <<< "$GUEST_OUT")"
	fi
	guest -t 60 "sync && echo 3 > /proc/sys/vm/drop_caches && sha256sum $file && cat /var/tmp/e2e-both-cut-during" || true
	if [[ ${GUEST_OUT%% *} == "$before" && $(tail -n 1 <<< "$GUEST_OUT") == during ]]; then
		ok "$name: data written before and during the cut reads back intact"
	else
		not_ok "$name: data written before and during the cut reads back intact" "before $before; after: $(paste -sd ' ' <<< "$GUEST_OUT")"
	fi
	if grep -E 'EXT4-fs (error|warning)|Aborting journal|I/O error, dev dm-|Buffer I/O error on dev dm-' "$RUN_DIR/console.log" > /dev/null; then
		not_ok "$name: no I/O error reached the file system" "$(grep -E 'EXT4-fs (error|warning)|Aborting journal|I/O error, dev dm-|Buffer I/O error on dev dm-' "$RUN_DIR/console.log" | head -n 2 | paste -sd '|')"
	else
		ok "$name: no I/O error reached the file system"
	fi
	daemon_check "$name: journal: no path left for the root map, during the cut" assert_no_path_left_reported "$since" "$until"
	daemon_check "$name: journal: both paths restored, 2 paths up" assert_path_restored_reported "$until" 2 "${PATH_DISK[@]}"
	daemon_check "$name: status --json ok again, 2 of 2 paths up" assert_multipath_status ok 2
}

# The daemon's view of the multipath root (contract of issue 9, lib/scenarios-multipath.sh callers).

# assert_paths_recovery_tmo_kept NAME: both path sessions' recovery_tmo is still the initramfs's
# replacement_timeout, and the journal has no "recovery_tmo of a root session raised" entry.
assert_paths_recovery_tmo_kept() {
	guest "cat /sys/class/iscsi_session/${PATH_SESSION[0]}/recovery_tmo /sys/class/iscsi_session/${PATH_SESSION[1]}/recovery_tmo" || true
	local values raised unread
	values=$(paste -sd ' ' <<< "$GUEST_OUT")
	read_daemon_journal
	raised=$(journal_count "recovery_tmo of a root session raised")
	unread=$(journal_unread "recovery_tmo of a root session raised")
	if [[ $values == "$PATH_RECOVERY_TMO $PATH_RECOVERY_TMO" && -z $unread ]] && ((raised == 0)); then
		ok "$1"
	else
		not_ok "$1" "recovery_tmo of ${PATH_SESSION[*]}: $values; 'recovery_tmo raised' entries: ${unread:-$raised}"
	fi
}

# assert_multipath_status NAME OVERALL PATHS_UP [DOWN_DISK...]: `status --json` says OVERALL (exit 0, 1 or 2
# for ok, warning, critical); / is on MULTIPATH_MAP, which queues, with PATHS_UP of 2 paths up, the DOWN_DISKs
# down, each path with its disk, session and portal as sysfs has them; both sessions have the role "path".
assert_multipath_status() {
	local name=$1 overall=$2 up=$3 status=0 want_status paths
	shift 3
	case $overall in ok) want_status=0 ;; warning) want_status=1 ;; *) want_status=2 ;; esac
	paths=$(for i in 0 1; do echo "${PATH_DISK[i]} ${PATH_SESSION[i]} ${MULTIPATH_PORTALS[i]%:*}"; done | paste -sd ';')
	guest -t 20 "iscsi-rootd status --json" || status=$?
	if ((status == want_status)) && jq -e --arg overall "$overall" --arg map "$MULTIPATH_MAP" --argjson up "$up" \
		--arg down "$*" --arg paths "$paths" '
		.overall == $overall and .root.multipath.name == $map and .root.multipath.queue_if_no_path == true
		and .root.multipath.paths_total == 2 and .root.multipath.paths_up == $up
		and ([.root.multipath.paths[] | select(.up == false) | .disk] | sort) == ($down | split(" ") | map(select(. != "")) | sort)
		and ([.root.multipath.paths[] | "\(.disk) \(.session) \(.portal | split(":")[0])"] | sort | join(";")) == $paths
		and ([.sessions[] | select(.role == "path")] | length) == 2' > /dev/null 2>&1 <<< "$GUEST_OUT"; then
		ok "$name"
	else
		not_ok "$name" "exit $status; overall $(jq -r .overall <<< "$GUEST_OUT" 2> /dev/null); findings: $(jq -c '[.findings[] | "\(.severity) \(.subject): \(.message)"]' <<< "$GUEST_OUT" 2> /dev/null | head -c 300); multipath: $(jq -c '.root.multipath | del(.wwid)' <<< "$GUEST_OUT" 2> /dev/null | head -c 400); roles: $(jq -c '[.sessions[] | .role]' <<< "$GUEST_OUT" 2> /dev/null)"
	fi
}

# assert_status_text_within NAME SECONDS TEXT...: STATUS= contains every TEXT within SECONDS.
assert_status_text_within() {
	local name=$1 deadline=$((SECONDS + $2)) started=$SECONDS text missing
	shift 2
	while :; do
		guest -t 10 "systemctl show -p StatusText --value iscsi-rootd.service" || true
		missing=
		for text in "$@"; do
			[[ $GUEST_OUT == *"$text"* ]] || missing=yes
		done
		[[ -n $missing ]] || break
		if ((SECONDS >= deadline)); then
			not_ok "$name" "STATUS=$GUEST_OUT"
			return
		fi
		sleep 0.5
	done
	note "STATUS=$GUEST_OUT (after $((SECONDS - started)) s)"
	ok "$name"
}

# path_entry ID SINCE DISK: the first of the daemon's entries with MESSAGE_ID ID about the path DISK.
path_entry() {
	journal_entries_with_id "$1" "$2" | jq -c --arg disk "$3" 'select(.DEVICE == $disk)' | head -n 1
}

# assert_root_degraded_reported NAME SINCE I: a rootDegraded entry for path I with the map's and the path's
# fields, logged at most POLL_INTERVAL after the kernel's "detected conn error" of the path's connection.
assert_root_degraded_reported() {
	local name=$1 since=$2 i=$3 entry conn_error delay
	read_daemon_journal
	entry=$(path_entry "$ROOT_DEGRADED_ID" "$since" "${PATH_DISK[i]}")
	if [[ -z $entry ]] || ! jq -e --arg map "$MULTIPATH_MAP" --arg session "${PATH_SESSION[i]}" --arg address "${MULTIPATH_PORTALS[i]%:*}" '
		.MULTIPATH_MAP == $map and .ISCSI_SESSION == $session and (.ISCSI_PORTAL | startswith($address))
		and .PATHS_UP == "1" and .PATHS_TOTAL == "2" and .ROOT == "1"' > /dev/null 2>&1 <<< "$entry"; then
		not_ok "$name" "entry for ${PATH_DISK[i]}: ${entry:-none}"
		return
	fi
	guest "journalctl -k -b -o json --no-pager" || true
	conn_error=$(jq -r --arg conn "connection${PATH_SESSION[i]#session}:0: detected conn error" \
		'select(.MESSAGE | type == "string" and contains($conn)) | ._SOURCE_MONOTONIC_TIMESTAMP' 2> /dev/null <<< "$GUEST_OUT" | tail -n 1)
	if [[ -z $conn_error ]]; then
		not_ok "$name" "no 'detected conn error' kernel line for ${PATH_SESSION[i]}"
		return
	fi
	delay=$(jq -r --arg conn "$conn_error" '(.__MONOTONIC_TIMESTAMP | tonumber) - ($conn | tonumber) | . / 10000 | round / 100' <<< "$entry")
	note "rootDegraded $delay s after the kernel's conn error: $(jq -r .MESSAGE <<< "$entry")"
	if awk -v d="$delay" -v limit="$POLL_INTERVAL" 'BEGIN { exit !(d >= 0 && d <= limit) }'; then
		ok "$name"
	else
		not_ok "$name" "logged $delay s after the kernel's conn error (poll interval $POLL_INTERVAL s)"
	fi
}

# assert_path_restored_reported NAME SINCE PATHS_UP DISK...: a pathRestored entry for each DISK with its
# PATHS_UP, after the entry that reported it down.
assert_path_restored_reported() {
	local name=$1 since=$2 up=$3 disk entry missing=
	shift 3
	read_daemon_journal
	for disk in "$@"; do
		entry=$(path_entry "$PATH_RESTORED_ID" "$since" "$disk")
		if [[ -n $entry ]] && jq -e '.PATHS_TOTAL == "2" and .ROOT == "1"' > /dev/null 2>&1 <<< "$entry"; then
			note "pathRestored: $(jq -r '"\(.MESSAGE) (PATHS_UP=\(.PATHS_UP))"' <<< "$entry")"
		else
			missing+="$disk: ${entry:-none}; "
		fi
	done
	# The last path back brings the map to PATHS_UP.
	if [[ -z $missing ]] && journal_entries_with_id "$PATH_RESTORED_ID" "$since" | jq -e --arg up "$up" 'select(.PATHS_UP == $up)' > /dev/null 2>&1; then
		ok "$name"
	else
		not_ok "$name" "${missing:-no entry with PATHS_UP=$up}"
	fi
}

# assert_no_path_left_reported NAME SINCE UNTIL: a noPathLeft entry for the root map between the guest's epoch
# seconds SINCE and UNTIL.
assert_no_path_left_reported() {
	local entry
	read_daemon_journal
	entry=$(journal_entries_with_id "$NO_PATH_LEFT_ID" "$2" | jq -c --arg map "$MULTIPATH_MAP" --argjson until "$3" \
		'select(.MULTIPATH_MAP == $map and .ROOT == "1" and .PATHS_UP == "0" and (.__REALTIME_TIMESTAMP | tonumber) <= $until * 1000000)' | head -n 1)
	if [[ -n $entry ]]; then
		note "noPathLeft: PRIORITY=$(jq -r .PRIORITY <<< "$entry") $(jq -r .MESSAGE <<< "$entry")"
		ok "$1"
	else
		not_ok "$1" "no entry for $MULTIPATH_MAP with ROOT=1 PATHS_UP=0 during the cut: $(journal_entries_with_id "$NO_PATH_LEFT_ID" "$2" | head -n 1 | head -c 300)"
	fi
}
