# shellcheck shell=bash
# The network under the root (issue 12), in the first boot before e-poweroff: the root session's address is
# removed from eth0 and put back, then the link is taken down and up with the QEMU monitor (set_link n0); each
# change must be journaled within 1 s with its fields, and the root stall that follows must name it as its likely
# cause. While the network is cut the guest runs only busybox applets and copies in /run (the agent's busybox
# comes first on PATH, so `ip` is busybox's): nothing may be read from the root disk.
# Sourced by Tests/e2e/run.

# i-network runs just before e-poweroff, which ends the first boot.
network_scenarios=()
for network_scenario in "${SCENARIOS[@]}"; do
	[[ $network_scenario != e-poweroff ]] || network_scenarios+=(i-network)
	network_scenarios+=("$network_scenario")
done
SCENARIOS=("${network_scenarios[@]}")
unset network_scenarios network_scenario

NETWORK_CUT_SECONDS=8
# The daemon's flap window: a cut within this many seconds of the last return is the same episode.
NETWORK_FLAP_SECONDS=10
# The guest's root address and its portal (guest/init).
GUEST_ADDRESS=10.0.2.15/24
GUEST_PORTAL=10.0.2.2

scenario_i_network() {
	local name=i-network since restored_at gap
	guest "date +%s" || true
	since=$GUEST_OUT
	daemon_check "$name: the state file names eth0, 10.0.2.15 and the kernel's route for the root session" \
		assert_network_path_known
	# A copy of the binary and its configuration in /run: `status` during the cut reads nothing from the root disk
	# (its libraries are the daemon's, locked in memory).
	guest "cp /usr/bin/iscsi-rootd /run/e2e/iscsi-rootd && cp /etc/iscsi-rootd.conf /run/e2e/iscsi-rootd.conf" ||
		note "copy of iscsi-rootd to /run: $GUEST_OUT"

	# 1. The address goes, and comes back NETWORK_CUT_SECONDS later (scheduled in the guest, so the agent is not
	# needed to restore it). A writer on / stalls meanwhile.
	guest "cat /proc/uptime; ip addr del $GUEST_ADDRESS dev eth0; rm -f /run/e2e/net-back /run/e2e/net-writer.rc;" \
		"setsid sh -c 'sleep $NETWORK_CUT_SECONDS; cat /proc/uptime > /run/e2e/net-back; ip addr add $GUEST_ADDRESS dev eth0;" \
		"ip route add default via $GUEST_PORTAL dev eth0 2> /dev/null; true' > /dev/null 2>&1 &" \
		"setsid sh -c 'echo cut > /var/tmp/e2e-network && sync; echo \$? > /run/e2e/net-writer.rc' > /dev/null 2>&1 &" || true
	local removed_at=${GUEST_OUT%% *}
	note "address $GUEST_ADDRESS removed at guest uptime $removed_at"
	sleep 2
	network_status_during_cut "$name: while the address is gone" "10.0.2.15 was removed from eth0"
	sleep $((NETWORK_CUT_SECONDS - 1))
	guest -t 10 "cat /run/e2e/net-back" || true
	restored_at=${GUEST_OUT%% *}
	network_wait_for_writer "$name: the root write blocked by the cut completes once the address is back"
	daemon_check "$name: address removal journaled within 1 s: INTERFACE=eth0, OLD_VALUE=10.0.2.15, portal, what / is on" \
		assert_network_lost "$since" "$removed_at" "10.0.2.15 was removed from eth0" 'select(.OLD_VALUE == "10.0.2.15")'
	daemon_check "$name: the root stall during the cut names the removed address as its likely cause" \
		assert_stall_caused_by "$since" "$removed_at" "10.0.2.15 was removed from eth0"
	daemon_check "$name: the address's return journaled within 1 s, with DURATION_USEC" \
		assert_network_restored "$since" "$restored_at"

	# 2. The link goes down (QEMU cuts the cable) and comes back, more than the flap window after the address came
	# back, so it is an episode of its own.
	gap=$((NETWORK_FLAP_SECONDS + 1))
	guest "cat /proc/uptime" || true
	if awk -v now="${GUEST_OUT%% *}" -v back="${restored_at:-0}" -v gap="$gap" 'BEGIN { exit !(now - back < gap) }'; then
		sleep "$gap"
	fi
	guest "cat /proc/uptime" || true
	local down_at=${GUEST_OUT%% *}
	qemu_monitor "set_link n0 off"
	note "set_link n0 off after guest uptime $down_at"
	guest "rm -f /run/e2e/net-writer.rc; setsid sh -c 'echo down > /var/tmp/e2e-network && sync; echo \$? > /run/e2e/net-writer.rc' > /dev/null 2>&1 &" || true
	sleep 2
	network_status_during_cut "$name: while the link is down" "eth0 is down (no carrier)"
	sleep $((NETWORK_CUT_SECONDS - 2))
	guest "cat /proc/uptime" || true
	local up_at=${GUEST_OUT%% *}
	qemu_monitor "set_link n0 on"
	note "set_link n0 on after guest uptime $up_at"
	network_wait_for_writer "$name: the root write blocked by the link-down completes once the link is back"
	daemon_check "$name: link-down journaled within 1 s: 'eth0 is down (no carrier)', INTERFACE=eth0" \
		assert_network_lost "$since" "$down_at" "eth0 is down (no carrier)" 'select(.INTERFACE == "eth0")'
	daemon_check "$name: the root stall during the link-down names it as its likely cause" \
		assert_stall_caused_by "$since" "$down_at" "eth0 is down (no carrier)"
	daemon_check "$name: the link's return journaled within 1 s" assert_network_restored "$since" "$up_at"
	daemon_check "$name: status --json overall ok again, the path reachable" assert_status_json
}

# network_status_during_cut NAME PROBLEM: the state file's STATUS= line and `status` (the copy in /run) say the
# root session is cut off, naming PROBLEM.
network_status_during_cut() {
	local status=0 line findings
	if [[ $DAEMON_INSTALLED != yes ]]; then
		not_ok "$1: STATUS= and status say the root session is cut off" "iscsi-rootd not installed"
		return
	fi
	guest -t 10 "cat /run/iscsi-rootd/state.json" || true
	line=$(echo "$GUEST_OUT" | jq -r '.status_line' 2> /dev/null || true)
	# stdout only: the agent mixes stderr into the output.
	guest -t 10 "/run/e2e/iscsi-rootd status --json --config /run/e2e/iscsi-rootd.conf 2> /run/e2e/net-status.err" || status=$?
	findings=$(echo "$GUEST_OUT" | jq -r '.findings[] | select(.severity == "critical") | "\(.subject): \(.message)"' 2> /dev/null |
		head -n 1 || true)
	note "STATUS=$line"
	if [[ $line == "NETWORK root session"*"$2"* ]]; then
		ok "$1: STATUS= says NETWORK … $2"
	else
		not_ok "$1: STATUS= says NETWORK … $2" "STATUS=$line"
	fi
	if ((status == 2)) && [[ $findings == *"cannot reach its portal"*"$2"* ]]; then
		ok "$1: status exits 2 with a critical finding naming it"
	else
		guest -t 5 "cat /run/e2e/net-status.err" || true
		not_ok "$1: status exits 2 with a critical finding naming it" "exit $status: ${findings:-$(echo "$GUEST_OUT" | head -c 200)}"
	fi
}

# network_wait_for_writer NAME: the writer started during the cut finishes (within 60 s of the return).
network_wait_for_writer() {
	local deadline=$((SECONDS + 60))
	until guest -t 5 "cat /run/e2e/net-writer.rc" && [[ $GUEST_OUT == 0 ]]; do
		((SECONDS < deadline)) || break
		sleep 1
	done
	if [[ $GUEST_OUT == 0 ]]; then ok "$1"; else not_ok "$1" "writer: ${GUEST_OUT:-pending}"; fi
}

# assert_network_path_known NAME: the state file has the root session's path: eth0, 10.0.2.15, a route, reachable.
assert_network_path_known() {
	guest "cat /run/iscsi-rootd/state.json" || true
	local path
	path=$(echo "$GUEST_OUT" | jq -c '.network.sessions[0] // empty' 2> /dev/null || true)
	if jq -e '.interface == "eth0" and .local_address == "10.0.2.15" and .reachable and (.route | test("dev eth0"))' <<< "$path" > /dev/null 2>&1; then
		note "root path: $(jq -r '"\(.session) from \(.local_address) on \(.interface): \(.route)"' <<< "$path")"
		ok "$1"
	else
		not_ok "$1" "${path:-no network.sessions in the state file; events: $(echo "$GUEST_OUT" | jq -c '.network.events' 2> /dev/null || true)}"
	fi
}

# assert_network_lost NAME SINCE UPTIME PROBLEM FILTER: the first "lost the network path" entry after the guest's
# uptime UPTIME names PROBLEM, passes the jq FILTER, has the session, portal and CARRIES fields, and came at most
# 1 s after UPTIME.
assert_network_lost() {
	assert_journaled_within "$1" 1.0 "the change" "$5"' | select((.MESSAGE | contains($p)) and .ISCSI_SESSION != null and .ISCSI_PORTAL == "10.0.2.2:3260" and .INTERFACE == "eth0" and (.CARRIES | contains("/")) and .ROOT == "1")' "$4" \
		"A root iSCSI session lost the network path to its portal" "$2" "$3"
}

# assert_network_restored NAME SINCE UPTIME: the first "network path ... is back" entry after the guest's uptime
# UPTIME came at most 1 s later, with DURATION_USEC.
assert_network_restored() {
	assert_journaled_within "$1" 1.0 "the return" '.DURATION_USEC | tonumber > 0' "" \
		"A root iSCSI session's network path to its portal is back" "$2" "$3"
}

# assert_stall_caused_by NAME SINCE UPTIME PROBLEM: the first stall entry for sda after the guest's uptime UPTIME
# has LIKELY_CAUSE naming PROBLEM.
assert_stall_caused_by() {
	journal_entry_after "I/O to an iSCSI disk is stalled" "$2" "$3" '.DEVICE == "sda"' || true
	if [[ -n $JOURNAL_ENTRY ]] && jq -e --arg p "$4" '.LIKELY_CAUSE | contains($p)' <<< "$JOURNAL_ENTRY" > /dev/null 2>&1; then
		note "$(jq -r .MESSAGE <<< "$JOURNAL_ENTRY")"
		ok "$1"
	else
		not_ok "$1" "${JOURNAL_ENTRY:-no stall entry for sda after guest uptime $3}"
	fi
}
