# shellcheck shell=bash
# Issue 13, the fleet view, in the first boot: the guest runs Debian's prometheus-node-exporter, and the
# daemon writes its metrics into node_exporter's textfile directory (setup_root_client installs the example
# drop-in and sets [Metrics] TextfileDirectory=, as an administrator would). c-outage calls
# fleet_after_outage once the outage is over, before it logs the data session out. Sourced by Tests/e2e/run.
#
# Issue 20, metrics live while the root is frozen: the guest also runs the daemon's own /metrics
# (iscsi-rootd-metrics.socket, enabled by install_client_services). During c-outage's root outage the host scrapes
# it once a second through QEMU's hostfwd (vm.sh: 127.0.0.1:METRICS_HOST_PORT), as a Prometheus server on
# another machine would, and node_exporter's the same way for comparison (fleet_scrape_start/stop);
# fleet_during_outage asserts what those scrapes saw.

TEXTFILE_DIR=/var/lib/prometheus/node-exporter

# fleet_after_outage NAME DATA_SESSION: node_exporter's /metrics (scraped in the guest) shows the data
# session's episode counted, that session and the root's LOGGED_IN again, the root stall over, and the
# collector reading the file without error; the metrics pass promtool check metrics; the unit's sandbox
# opens exactly the textfile directory.
fleet_after_outage() {
	daemon_check "$1: the unit's writable paths are /sys/devices and the textfile directory only" assert_metrics_sandbox
	daemon_check "$1: node_exporter /metrics: $2's episode counted, sessions LOGGED_IN, stall over" \
		assert_metrics_after_outage "$2"
	daemon_check "$1: the daemon's /metrics from the host: daemon_up 1, passes promtool check metrics" assert_endpoint_metrics
}

assert_endpoint_metrics() {
	local answer lint
	if ! answer=$(curl -s --max-time 5 "http://127.0.0.1:$METRICS_HOST_PORT/metrics"); then
		not_ok "$1" "no answer on 127.0.0.1:$METRICS_HOST_PORT"
		return
	fi
	METRICS=$answer
	if [[ $(metric iscsi_rootd_daemon_up) != 1 ]]; then
		not_ok "$1" "daemon_up '$(metric iscsi_rootd_daemon_up)'"
	elif ! lint=$(promtool check metrics <<< "$answer" 2>&1); then
		not_ok "$1" "$lint"
	else
		ok "$1"
	fi
}

# fleet_clock_offset: GUEST_CLOCK_OFFSET, the guest's wall clock minus the host's (seconds; a TCG guest's
# clock drifts from the host's), and GUEST_CLOCK_ERROR, half the agent's round trip that bounds its error.
fleet_clock_offset() {
	local before after
	before=$(date +%s.%N)
	guest "date +%s.%N" || true
	after=$(date +%s.%N)
	GUEST_CLOCK_OFFSET=$(awk -v g="$GUEST_OUT" -v b="$before" -v a="$after" 'BEGIN { printf "%.3f", g - (b + a) / 2 }')
	GUEST_CLOCK_ERROR=$(awk -v b="$before" -v a="$after" 'BEGIN { printf "%.3f", (a - b) / 2 }')
}

# scrape_every_second PORT LOG: GETs http://127.0.0.1:PORT/metrics once a second (2 s timeout each: a loaded host slows QEMU's forwarding), appending
# "START END ok|failed STALL" to LOG: the host's times around the scrape, and sda's
# iscsi_rootd_disk_stall_seconds in the answer ("-" when absent). Runs until killed.
scrape_every_second() {
	local port=$1 log=$2 start answer outcome stall
	while true; do
		start=$(date +%s.%N)
		if answer=$(curl -s --max-time 2 "http://127.0.0.1:$port/metrics"); then outcome=ok; else outcome=failed; fi
		stall=$(awk '$1 == "iscsi_rootd_disk_stall_seconds{disk=\"sda\"}" { print $2 }' <<< "$answer")
		echo "$start $(date +%s.%N) $outcome ${stall:--}" >> "$log"
		sleep "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { d = 1 - (n - s); printf "%.3f", (d > 0 ? d : 0) }')" || true
	done
}

fleet_scrape_start() {
	: > "$RUN_DIR/scrape-daemon.log"
	: > "$RUN_DIR/scrape-node-exporter.log"
	scrape_every_second "$METRICS_HOST_PORT" "$RUN_DIR/scrape-daemon.log" &
	SCRAPE_DAEMON_PID=$!
	scrape_every_second "$NODE_EXPORTER_HOST_PORT" "$RUN_DIR/scrape-node-exporter.log" &
	SCRAPE_NODE_PID=$!
}

fleet_scrape_stop() {
	kill "$SCRAPE_DAEMON_PID" "$SCRAPE_NODE_PID" 2> /dev/null || true
	wait "$SCRAPE_DAEMON_PID" "$SCRAPE_NODE_PID" 2> /dev/null || true
}

# fleet_during_outage NAME STOP CONTINUE: what the host's scrapes saw between the host times STOP and CONTINUE
# (the root tgtd's SIGSTOP and SIGCONT, epoch seconds): every scrape of the daemon's /metrics answered; sda's
# stall age was served for at least half the outage and grew with the wall clock (each scrape within 1.5 s of
# the first one's age plus the time since); the first scrape showing it came at most 2 s after the daemon's
# notice (its journal entry, moved to the host's clock by fleet_clock_offset). node_exporter's figures are
# noted beside them: its textfile is on the root.
fleet_during_outage() {
	local name=$1 stop=$2 continued=$3 window notice lag figures
	window=$(awk -v s="$stop" -v c="$continued" '$1 >= s && $2 <= c' "$RUN_DIR/scrape-daemon.log")
	figures=$(awk '{ n++ } $3 == "ok" { ok++ } $3 == "ok" && $4 > 0 { if (!seen) { t0 = $2; v0 = $4; seen = 1 }
		live++; d = ($4 - v0) - ($2 - t0); if (d < 0) d = -d; if (d > worst) worst = d; last = $4; span = $2 - t0 }
		END { printf "%d %d %d %.2f %.2f %.2f", n, ok, live, worst, last, span }' <<< "$window")
	read -r total answered live worst last span <<< "$figures"
	note "daemon /metrics from the host during the outage: $answered of $total scrapes answered, $live showed sda stalled (last ${last} s, over ${span} s of wall clock; largest gap between the age's growth and the clock's ${worst} s)"
	if ((total > 0 && answered == total)); then
		ok "$name: every scrape of the daemon's /metrics answered during the outage (hostfwd, 2 s timeout)"
	else
		not_ok "$name: every scrape of the daemon's /metrics answered during the outage (hostfwd, 2 s timeout)" \
			"$answered of $total; the log's first lines: $(head -n 3 "$RUN_DIR/scrape-daemon.log" | paste -sd '|')"
	fi
	if awk -v l="$live" -v s="$span" -v w="$worst" -v o="$OUTAGE_SECONDS" 'BEGIN { exit !(l >= o / 2 && s >= o / 2 && w <= 1.5) }'; then
		ok "$name: the stall's age in the daemon's /metrics grows with the wall clock, scrape by scrape"
	else
		not_ok "$name: the stall's age in the daemon's /metrics grows with the wall clock, scrape by scrape" \
			"$live scrapes over $span s (want ≥ $((OUTAGE_SECONDS / 2)) s), largest gap $worst s (want ≤ 1.5)"
	fi
	read_daemon_journal
	notice=$(journal_entries "I/O to an iSCSI disk is stalled" | jq -r 'select(.DEVICE == "sda") | .__REALTIME_TIMESTAMP' | head -n 1)
	lag=$(awk -v n="${notice:-0}" -v off="$GUEST_CLOCK_OFFSET" '$3 == "ok" && $4 > 0 { printf "%.2f", $2 - (n / 1e6 - off); exit }' <<< "$window")
	if [[ -n $notice && -n $lag ]] && at_most "$lag" 2; then
		note "first scrape showing the stall: $lag s after the daemon's notice (guest clock offset $GUEST_CLOCK_OFFSET ± $GUEST_CLOCK_ERROR s)"
		ok "$name: the stall reached the scraper within 2 s of the daemon's notice"
	else
		not_ok "$name: the stall reached the scraper within 2 s of the daemon's notice" \
			"notice '${notice:-none}', lag '${lag:-no scrape showed it}' (guest clock offset $GUEST_CLOCK_OFFSET ± $GUEST_CLOCK_ERROR s)"
	fi
	figures=$(awk -v s="$stop" -v c="$continued" '$1 >= s && $2 <= c { n++; if ($3 == "ok") ok++; if ($3 == "ok" && !($4 in v)) { v[$4] = 1; values = values " " $4 } }
		END { printf "%d of %d scrapes answered within 2 s; sda stall ages served:%s", ok, n, values == "" ? " none" : values }' \
		"$RUN_DIR/scrape-node-exporter.log")
	note "node_exporter (textfile on the root) from the host during the outage: $figures"
}

assert_metrics_sandbox() {
	guest "systemctl show -p ReadWritePaths --value iscsi-rootd.service" || true
	if [[ $GUEST_OUT == "/sys/devices -$TEXTFILE_DIR" ]]; then
		ok "$1"
	else
		not_ok "$1" "ReadWritePaths=$GUEST_OUT"
	fi
}

# metric NAME{LABELS}: its value in METRICS (the last scrape), empty when absent.
metric() {
	awk -v series="$1" '$1 == series { print $2 }' <<< "$METRICS"
}

# assert_metrics_after_outage NAME DATA_SESSION: scrapes until everything holds (the daemon writes the file
# within a poll round of a change), at most 20 s.
assert_metrics_after_outage() {
	local name=$1 data=$2 root deadline=$((SECONDS + 20)) problems
	guest_session_of_target "$ROOT_IQN"
	root=$GUEST_SESSION
	while true; do
		guest -t 20 "wget -q -O - http://127.0.0.1:9100/metrics | grep -E '^(# (HELP|TYPE) )?(iscsi_rootd_|node_textfile_)'" || true
		METRICS=$GUEST_OUT
		problems=
		[[ $(metric iscsi_rootd_daemon_up) == 1 ]] || problems+=" daemon_up '$(metric iscsi_rootd_daemon_up)';"
		[[ $(metric node_textfile_scrape_error) == 0 ]] || problems+=" node_textfile_scrape_error '$(metric node_textfile_scrape_error)';"
		[[ $(metric "iscsi_rootd_recovery_episodes_total{session=\"$data\"}") -ge 1 ]] 2> /dev/null ||
			problems+=" $data episodes_total '$(metric "iscsi_rootd_recovery_episodes_total{session=\"$data\"}")';"
		[[ $(metric "iscsi_rootd_recovery_duration_seconds_count{session=\"$data\"}") -ge 1 ]] 2> /dev/null ||
			problems+=" $data duration count '$(metric "iscsi_rootd_recovery_duration_seconds_count{session=\"$data\"}")';"
		for session in "$data" "$root"; do
			[[ $(metric "iscsi_rootd_session_state{session=\"$session\",state=\"LOGGED_IN\"}") == 1 ]] ||
				problems+=" $session not LOGGED_IN;"
		done
		[[ $(metric 'iscsi_rootd_disk_stall_seconds{disk="sda"}') == 0 ]] ||
			problems+=" sda stall '$(metric 'iscsi_rootd_disk_stall_seconds{disk="sda"}')';"
		[[ -n $problems && $SECONDS -lt $deadline ]] || break
		sleep 1
	done
	if [[ -n $problems ]]; then
		not_ok "$name" "${problems# }"
		return
	fi
	note "$data: $(metric "iscsi_rootd_recovery_episodes_total{session=\"$data\"}") episode(s), $(metric "iscsi_rootd_recovery_duration_seconds_sum{session=\"$data\"}") s in recovery; textfile read at $(metric "node_textfile_mtime_seconds{file=\"$TEXTFILE_DIR/iscsi-rootd.prom\"}")"
	ok "$name"
	local lint
	if lint=$(grep -E '^(# (HELP|TYPE) )?iscsi_rootd_' <<< "$METRICS" | promtool check metrics 2>&1); then
		ok "$name: the served iscsi_rootd metrics pass promtool check metrics"
	else
		not_ok "$name: the served iscsi_rootd metrics pass promtool check metrics" "$lint"
	fi
}
