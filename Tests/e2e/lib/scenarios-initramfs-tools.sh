# shellcheck shell=bash
# A short boot of the diskless client through Debian's initramfs-tools with open-iscsi and the project's
# iscsi.initramfs (lib/build-initramfs-tools.sh): the assertions of assert_initramfs_boot
# (lib/scenarios-initramfs.sh), and the example's iscsistart wrapper retrying while the target refuses logins.
# Sourced by Tests/e2e/run after lib/scenarios-initramfs.sh.

SCENARIOS+=(i-initramfs-tools)
SCENARIO_BOOT["i-initramfs-tools"]=initramfs_tools

# i-initramfs-tools: open-iscsi's local-top/iscsi logs in through the wrapper /etc/iscsi.initramfs defines: -P
# settings visible in the session, retries while the target refuses logins, one session although local-top/iscsi
# calls iscsistart twice.
scenario_i_initramfs_tools() {
	local name=i-initramfs-tools failures sessions
	assert_initramfs_boot "$name" '^Debian initramfs-tools'
	failures=$(grep -ao 'iscsi-rootd: iSCSI login failed (attempt [0-9]*)' "$RUN_DIR/console.log" | sed 's/.*(attempt \([0-9]*\))/\1/' | sort -n | tail -n 1 || true)
	if [[ $failures =~ ^[0-9]+$ ]] && ((failures >= 1)); then
		note "the wrapper logged in after $((failures + 1)) attempts ($(paste -sd ', ' "$RUN_DIR/target-down.log" 2> /dev/null))"
		ok "$name: the example's iscsistart wrapper retries while the target refuses logins"
	else
		not_ok "$name: the example's iscsistart wrapper retries while the target refuses logins" \
			"no 'iscsi-rootd: iSCSI login failed (attempt N)' line; console: $(grep -ai 'iscsi' "$RUN_DIR/console.log" | tail -n 3)"
	fi
	guest "cat /sys/class/iscsi_session/session*/targetname" || true
	sessions=$(grep -c -x -- "$ROOT_IQN" <<< "$GUEST_OUT" || true)
	if [[ $sessions == 1 ]]; then
		ok "$name: one session to the root target (local-top/iscsi's second login found the first)"
	else
		not_ok "$name: one session to the root target (local-top/iscsi's second login found the first)" "targets: $(echo "$GUEST_OUT" | paste -sd ' ')"
	fi
}
