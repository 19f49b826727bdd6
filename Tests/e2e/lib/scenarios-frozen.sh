# shellcheck shell=bash
# The root frozen on a client whose journal is persistent on it (issue 20 items 2-4, issue 19 item 8): a boot
# of its own (guest/init with e2e.journal=persistent drops the volatile journal of configure_guest), the page
# cache dropped, then the root target stopped for FROZEN_SECONDS. During the outage the test runs only busybox
# applets and copies in /run (guest/frozen-sampler) and the builtins of a bash started before it: nothing may
# be read from the root disk. Sourced by Tests/e2e/run.

SCENARIOS+=(j-frozen)
SCENARIO_BOOT["j-frozen"]=persistent
FROZEN_SECONDS=40
# Issue 20's goal for each channel: from the daemon's notice to the person, at most this many seconds.
FROZEN_LAG_LIMIT=2
# While a root stall lasts the daemon rewrites its state at every quarter-second I/O sample and every poll: a
# sample may find it at most this old (a second, and the sampler's own read).
FROZEN_STATE_AGE=1.5

# The one-path client's image; only the kernel command line differs.
build_persistent_image() {
	build_image
}

boot_persistent() {
	boot_root
	BOOT_CMDLINE+=" e2e.journal=persistent"
}

# guest_up_of_wall USEC: the guest's uptime (seconds) at its wall-clock time USEC (µs since the epoch), by the
# clock pair journald recorded for the daemon's start entry (set by frozen_clock_pair).
guest_up_of_wall() {
	awk -v wall="$1" -v offset="$FROZEN_CLOCK_OFFSET" 'BEGIN { printf "%.2f", (wall - offset) / 1e6 }'
}

scenario_j_frozen() {
	local name=j-frozen stopped stop_wall mark journal_path stall_event stall_wall stall_message stall_up
	local view_cmd view_text view_time console_line console_up samples
	# 1. The journal is on the root: journald writes /var/log/journal/MACHINE-ID on /dev/sda.
	guest "journalctl --header --no-pager | sed -n 's|^ *File path: \\(/var/log/journal/\\)|\\1|p' | head -n 1; findmnt -n -o SOURCE --target /var/log/journal" || true
	journal_path=$(echo "$GUEST_OUT" | paste -sd ' ')
	if [[ $journal_path =~ ^/var/log/journal/[0-9a-f]+/[^\ ]+\.journal\ /dev/sda$ ]]; then
		ok "$name: the journal is persistent on the root ($journal_path)"
	else
		not_ok "$name: the journal is persistent on the root" "$journal_path"
	fi
	# The guest's wall clock against its uptime, from one instant journald recorded (the daemon's start).
	read_daemon_journal
	FROZEN_CLOCK_OFFSET=$(journal_entries "iscsi-rootd started" |
		jq -s -r 'if length > 0 then (.[0].__REALTIME_TIMESTAMP | tonumber) - (.[0].__MONOTONIC_TIMESTAMP | tonumber) else empty end' || true)
	[[ $FROZEN_CLOCK_OFFSET =~ ^[0-9]+$ ]] || { not_ok "$name: the daemon's start entry" "none in the journal"; return; }

	# 2. A person's shell, open before the outage like a login: a bash reading its commands from a FIFO in /run.
	# It has read no file yet: the page cache dropped next holds none of what its read loop runs.
	if ! guest "cp /usr/local/lib/e2e/frozen-sampler /run/e2e/ && mkfifo /run/e2e/shell.in &&" \
		"(setsid sh -c 'exec 3> /run/e2e/shell.in; exec sleep 100000' > /dev/null 2>&1 &) &&" \
		"(setsid /usr/bin/bash < /run/e2e/shell.in > /run/e2e/shell.out 2>&1 &) && sleep 1 && echo 'echo bash-up' > /run/e2e/shell.in" ||
		! guest "sleep 1; cat /run/e2e/shell.out" || [[ $GUEST_OUT != bash-up ]]; then
		not_ok "$name: a bash open before the outage" "$GUEST_OUT"
		return
	fi
	guest "pid=\$(systemctl show -p MainPID --value iscsi-rootd.service); grep VmLck /proc/\$pid/status" || true
	note "the daemon before the outage: $(echo "$GUEST_OUT" | tr -s ' \t' ' ')"

	# 3. Caches dropped, the sampler started, the root target stopped, a write put in flight.
	mark=$(stat -c %s "$RUN_DIR/console.log")
	guest "sync && echo 3 > /proc/sys/vm/drop_caches && (setsid /run/e2e/frozen-sampler $((FROZEN_SECONDS + 8)) > /dev/null 2>&1 &) && date +%s" || true
	stop_wall=$GUEST_OUT
	kill -STOP "$TGTD_PID"
	stopped=$SECONDS
	note "root tgtd stopped for $FROZEN_SECONDS s, page cache dropped"
	guest "setsid sh -c 'echo frozen > /var/tmp/e2e-frozen && sync; echo \$? > /run/e2e/writer.rc' > /dev/null 2>&1 &" || true

	# 4. The daemon's notice (its stall event, in the state file in /run) and the console line for it.
	while ((SECONDS - stopped < 20)); do
		guest -t 5 "cat /run/iscsi-rootd/state.json" || true
		stall_event=$(jq -c --argjson since "$stop_wall" \
			'[.recent_events[] | select(.kind == "ioStalled" and .time_usec >= ($since - 1) * 1000000)] | first // empty' <<< "$GUEST_OUT" 2> /dev/null)
		[[ -z $stall_event ]] || break
		sleep 1
	done
	stall_wall=$(jq -r '.time_usec // empty' <<< "$stall_event" 2> /dev/null)
	if [[ -z $stall_wall ]]; then
		not_ok "$name: the daemon notices the root stall" "no ioStalled event in the state file 20 s into the outage"
	else
		stall_up=$(guest_up_of_wall "$stall_wall")
		note "the daemon's notice: ioStalled at guest uptime $stall_up"
	fi

	# 5. What a person types: the daemon's status view, through the shell's builtins, with the root frozen.
	sleep 3
	# shellcheck disable=SC2016 # for the guest's bash
	view_cmd='read -r a _ < /proc/uptime; while IFS= read -r l; do printf "%s\n" "$l"; done < /run/iscsi-rootd/status > /run/e2e/view.txt; read -r b _ < /proc/uptime; echo "$a $b" > /run/e2e/view.time'
	guest "date +%s; echo $(printf %q "$view_cmd") > /run/e2e/shell.in; sleep $FROZEN_LAG_LIMIT; cat /run/e2e/view.time /run/e2e/view.txt" || true
	view_text=$GUEST_OUT
	view_time=$(sed -n 2p <<< "$view_text")
	local now_wall answered view_written
	now_wall=$(head -n 1 <<< "$view_text")
	answered=$(awk '{ printf "%.3f", $2 - $1 }' <<< "$view_time")
	view_written=$(sed -n 3p <<< "$view_text" | sed -n "s/^iscsi-rootd's own view at \([0-9-]* [0-9:]*\) .*/\1/p")
	note "status view during the outage (read in ${answered:-?} s): $(sed -n '3,4p' <<< "$view_text" | paste -sd '|')"
	if [[ -n $view_time ]] && at_most "$answered" "$FROZEN_LAG_LIMIT" &&
		[[ $(sed -n 4p <<< "$view_text") == "CRITICAL: root on iSCSI"* ]] &&
		grep -qE '^CRITICAL sda: I/O stalled [0-9]+ s' <<< "$view_text" && grep -q '^daemon says: .*stalled' <<< "$view_text"; then
		ok "$name: the daemon's status, read with a bash's builtins during the outage, answers within $FROZEN_LAG_LIMIT s: CRITICAL, the stall and its age"
	else
		not_ok "$name: the daemon's status, read with a bash's builtins during the outage, answers within $FROZEN_LAG_LIMIT s: CRITICAL, the stall and its age" \
			"view.time '$view_time'; $(sed -n '2,8p' <<< "$view_text" | paste -sd '|')"
	fi
	if [[ -n $view_written ]] && (( now_wall - $(date -u -d "$view_written" +%s 2> /dev/null || echo 0) <= FROZEN_LAG_LIMIT + 1 )); then
		note "the view was written at $view_written, the guest's clock said $(date -u -d "@$now_wall" +%T) just before it was read"
		ok "$name: the view was current (written at most $((FROZEN_LAG_LIMIT + 1)) s before it was read, second-resolution clocks)"
	else
		not_ok "$name: the view was current" "written '$view_written', read at $now_wall"
	fi

	sleep_out "$FROZEN_SECONDS" "$stopped"
	# The console as it was while the root was stopped.
	tail -c +$((mark + 1)) "$RUN_DIR/console.log" | tr -d '\r' > "$RUN_DIR/console-frozen.log"
	kill -CONT "$TGTD_PID"
	note "root tgtd continued after $((SECONDS - stopped)) s"

	# 6. The serial console had the daemon's line during the outage; its lag from the notice.
	stall_message=$(jq -r '.message // empty' <<< "$stall_event" 2> /dev/null)
	console_line=$(grep -n -m 1 -F "WARNING: ${stall_message:-no stall message}" "$RUN_DIR/console-frozen.log" || true)
	console_up=
	if [[ -n $console_line ]]; then
		console_up=$(tail -n +"${console_line%%:*}" "$RUN_DIR/console-frozen.log" | sed -n 's/.*@@FROZEN up=\([0-9.]*\).*/\1/p' | head -n 1 || true)
	fi
	local console_lag
	console_lag=$(awk -v c="${console_up:-0}" -v s="${stall_up:-0}" 'BEGIN { printf "%.2f", c - s }')
	note "console during the outage: $(grep -c '^iscsi-rootd: ' "$RUN_DIR/console-frozen.log" || true) daemon line(s); ${console_line#*:}"
	if [[ -n $console_up && -n $stall_up ]] && at_most "$console_lag" "$FROZEN_LAG_LIMIT"; then
		note "console lag: the line was out by guest uptime $console_up, $console_lag s after the notice (an upper bound: the sampler's next kernel-log line after it)"
		ok "$name: the serial console shows the daemon's stall line with its time during the outage, within $FROZEN_LAG_LIMIT s of the notice"
	else
		not_ok "$name: the serial console shows the daemon's stall line during the outage, within $FROZEN_LAG_LIMIT s" \
			"line '${console_line#*:}', out by uptime '${console_up:-never}', notice at '${stall_up:-never}'"
	fi

	# 7. The state file advanced every second of the outage once the daemon noticed it (before, nothing looked
	# wrong: a silent stall is a stall only after StallThreshold, and a healthy daemon writes on change and
	# every poll): at each of the sampler's one-second samples it is newer than at the one before, and at
	# most FROZEN_STATE_AGE s old. Read now, from /run.
	guest "cat /run/e2e/samples" || true
	samples=$GUEST_OUT
	local stale
	stale=$(awk -v from="${stall_up:-$(guest_up_of_wall "${stop_wall}000000")}" -v to="$(guest_up_of_wall "$(((stop_wall + FROZEN_SECONDS) * 1000000))")" \
		-v offset="$FROZEN_CLOCK_OFFSET" '
		$1 >= from && $1 <= to { n++; if ($2 == "none" || $2 <= last) bad++; else { age = $1 - ($2 - offset) / 1e6; if (age > oldest) oldest = age }; last = $2 }
		END { printf "%d %d %.2f", n, bad, oldest }' <<< "$samples")
	read -r FROZEN_SAMPLES FROZEN_STALE FROZEN_OLDEST <<< "$stale"
	note "state file samples from the notice to the end of the outage: $FROZEN_SAMPLES, $FROZEN_STALE not newer than the one before, the oldest $FROZEN_OLDEST s old"
	if ((FROZEN_SAMPLES >= 10 && FROZEN_STALE == 0)) && at_most "$FROZEN_OLDEST" "$FROZEN_STATE_AGE"; then
		ok "$name: the daemon's state file in /run advanced every second of the outage after the notice ($FROZEN_SAMPLES samples, at most $FROZEN_OLDEST s old)"
	else
		not_ok "$name: the daemon's state file in /run advanced every second of the outage after the notice" \
			"$FROZEN_SAMPLES samples, $FROZEN_STALE stale, oldest $FROZEN_OLDEST s; $(head -n 3 <<< "$samples" | paste -sd '|')"
	fi

	# 8. After: the blocked write completes, the journal has every entry once, with its true time.
	local waited=0
	until guest -t 5 "cat /run/e2e/writer.rc" && [[ $GUEST_OUT == 0 ]]; do
		((waited++ < 60)) || break
		sleep 1
	done
	if [[ $GUEST_OUT == 0 ]]; then ok "$name: the write blocked by the outage completes"; else not_ok "$name: the write blocked by the outage completes" "writer '$GUEST_OUT'"; fi
	daemon_check "$name: the stall journaled once journald could write, with its true time, once" \
		assert_journaled_true_time "$stall_wall" "$stall_message" "$stop_wall"
	daemon_check "$name: every event of the outage in the state file is in the journal, once" \
		assert_no_entry_lost "$((stop_wall - 1))"
}

# assert_journaled_true_time NAME EVENT_USEC MESSAGE SINCE: the daemon's entry with MESSAGE carries the time it
# was sent (_SOURCE_REALTIME_TIMESTAMP, the socket's timestamp) within 1 s of the event's time in the state file,
# though journald wrote it later (__REALTIME_TIMESTAMP); and it is in the journal once, by any transport (the
# console line is not imported, a /dev/kmsg line would be), among the entries since the guest's epoch second SINCE.
assert_journaled_true_time() {
	local name=$1 wall=$2 message=$3 entries
	guest "journalctl -b -o json --no-pager --since=@$4" || true
	entries=$(jq -c --arg m "$message" 'select(.MESSAGE == $m)' <<< "$GUEST_OUT" 2> /dev/null)
	local count sent received
	count=$(grep -c '^{' <<< "$entries" || true)
	sent=$(jq -s -r '.[0]._SOURCE_REALTIME_TIMESTAMP // empty' <<< "$entries")
	received=$(jq -s -r '.[0].__REALTIME_TIMESTAMP // empty' <<< "$entries")
	note "the stall entry: sent $(awk -v s="${sent:-0}" -v w="${wall:-0}" 'BEGIN { printf "%.2f", (s - w) / 1e6 }') s after the event, written by journald $(awk -v r="${received:-0}" -v s="${sent:-0}" 'BEGIN { printf "%.1f", (r - s) / 1e6 }') s after it was sent; $count entr$( ((count == 1)) && echo y || echo ies) with its message"
	if [[ $count == 1 && -n $sent && -n $wall ]] && at_most "$(awk -v s="$sent" -v w="$wall" 'BEGIN { d = (s - w) / 1e6; print (d < 0 ? -d : d) }')" 1; then
		ok "$name"
	else
		not_ok "$name" "$count entries with the message; sent ${sent:-?}, event ${wall:-?}"
	fi
}

# assert_no_entry_lost NAME SINCE: each event in the state file's recent_events since the guest's epoch second
# SINCE has exactly one journal entry of the daemon with its MESSAGE_ID and message.
assert_no_entry_lost() {
	local name=$1 since=$2 events journal missing
	guest "cat /run/iscsi-rootd/state.json" || true
	events=$(jq -c --argjson since "$since" '.recent_events[] | select(.time_usec >= $since * 1000000) | {kind, message}' <<< "$GUEST_OUT" 2> /dev/null)
	read_daemon_journal
	journal=$(jq -c --argjson since "$since" 'select((._SOURCE_REALTIME_TIMESTAMP // .__REALTIME_TIMESTAMP | tonumber) >= $since * 1000000 and .MESSAGE_ID != null) | .MESSAGE' <<< "$DAEMON_JOURNAL" 2> /dev/null)
	missing=$(jq -r '.message' <<< "$events" | while IFS= read -r message; do
		[[ $(grep -cxF "$(jq -c -n --arg m "$message" '$m')" <<< "$journal") == 1 ]] || echo "$message"
	done)
	note "events since the stop: $(grep -c . <<< "$events") in the state file ($(jq -r .kind <<< "$events" | paste -sd ' ')), $(grep -c . <<< "$journal") daemon entries with a MESSAGE_ID in the journal"
	if [[ -n $events && -z $missing ]]; then
		ok "$name"
	else
		not_ok "$name" "${missing:-no events since the stop}"
	fi
}
