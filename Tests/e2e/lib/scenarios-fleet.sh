# shellcheck shell=bash
# Issue 13, the fleet view, in the first boot: the guest runs Debian's prometheus-node-exporter, and the
# daemon writes its metrics into node_exporter's textfile directory (setup_root_client installs the example
# drop-in and sets [Metrics] TextfileDirectory=, as an administrator would). c-outage calls
# fleet_after_outage once the outage is over, before it logs the data session out. Sourced by Tests/e2e/run.

TEXTFILE_DIR=/var/lib/prometheus/node-exporter

# fleet_after_outage NAME DATA_SESSION: node_exporter's /metrics (scraped in the guest) shows the data
# session's episode counted, that session and the root's LOGGED_IN again, the root stall over, and the
# collector reading the file without error; the metrics pass promtool check metrics; the unit's sandbox
# opens exactly the textfile directory.
fleet_after_outage() {
	daemon_check "$1: the unit's writable paths are /sys/devices and the textfile directory only" assert_metrics_sandbox
	daemon_check "$1: node_exporter /metrics: $2's episode counted, sessions LOGGED_IN, stall over" \
		assert_metrics_after_outage "$2"
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
