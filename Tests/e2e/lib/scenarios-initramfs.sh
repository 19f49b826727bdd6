# shellcheck shell=bash
# Short boots of the diskless client through the project's mkinitcpio hook (lib/build-initramfs.sh):
# the essential a-boot assertions, the login's settings as the kernel runs them, and `check` naming the
# generator. Sourced by Tests/e2e/run.

SCENARIOS+=(i-mkinitcpio i-mkinitcpio-dhcp)
SCENARIO_BOOT["i-mkinitcpio"]=mkinitcpio_static
SCENARIO_BOOT["i-mkinitcpio-dhcp"]=mkinitcpio_dhcp

# i-mkinitcpio: the project's hook with static ip=, the target refusing logins for TARGET_DOWN_SECONDS.
scenario_i_mkinitcpio() {
	local name=i-mkinitcpio attempts='' failures
	assert_initramfs_boot "$name" '^mkinitcpio \(busybox init'
	# Counted from the failed attempts: the kernel's own lines can cut the hook's 'logged in after N
	# attempt(s)' line in two on the serial console.
	failures=$(grep -ao 'iscsi: login to .* failed (attempt [0-9]*)' "$RUN_DIR/console.log" | sed 's/.*(attempt \([0-9]*\))/\1/' | sort -n | tail -n 1 || true)
	grep -aq 'iscsi: logged in' "$RUN_DIR/console.log" && [[ $failures =~ ^[0-9]+$ ]] && attempts=$((failures + 1))
	if [[ $attempts =~ ^[0-9]+$ ]] && ((attempts > 1)); then
		note "the hook logged in after $attempts attempts ($(paste -sd ', ' "$RUN_DIR/target-down.log" 2> /dev/null))"
		ok "$name: the hook retries while the target refuses logins, then logs in"
	else
		not_ok "$name: the hook retries while the target refuses logins, then logs in" "attempts '${attempts}'; console: $(grep -a 'iscsi:' "$RUN_DIR/console.log" | tail -n 3)"
	fi
	if grep -aEq 'sda +[0-9:]+ +session[0-9]+ +timeout +changed 30 -> 90' "$RUN_DIR/console.log"; then
		ok "$name: run_latehook tuned sda with iscsi-rootd apply before switch_root"
	else
		not_ok "$name: run_latehook tuned sda with iscsi-rootd apply before switch_root" "no 'timeout changed 30 -> 90' line on the console"
	fi
	assert_sd_iscsi_tree "$name"
}

# assert_sd_iscsi_tree NAME: the image part the project's install hook sd-iscsi made for a systemd initramfs
# (build_mkinitcpio_systemd_tree; not booted): its two units pass systemd-analyze verify inside that tree (their
# programs exist there and are executable), are enabled by links that resolve in it, the runner's interpreter
# runs there, and the login's pieces are in it.
assert_sd_iscsi_tree() {
	local name=$1 tree=$MKINITCPIO_IMAGE_DIR/sd-iscsi-initramfs units=/usr/lib/systemd/system out status=0 file missing=''
	local link links=(initrd-root-device.target.wants/iscsi-rootd-initrd-login.service initrd.target.wants/iscsi-rootd-initrd-apply.service)
	out=$(systemd-analyze verify --man=no --root="$tree" "$units/iscsi-rootd-initrd-login.service" "$units/iscsi-rootd-initrd-apply.service" 2>&1) || status=$?
	for link in "${links[@]}"; do
		[[ -f $tree$(readlink "$tree$units/$link") ]] || missing+=" $units/$link"
	done
	# Not the initiator name: the install hook copies it if [[ -f ]] finds it, which the emulation (run on this
	# host, not in the guest's root) tests against the host; the boots pass iscsi_initiator= instead.
	for file in /hooks/iscsi /usr/sbin/iscsistart /bin/ipconfig /usr/bin/iscsi-rootd; do
		[[ -e $tree$file ]] || missing+=" $file"
	done
	[[ -n $(find "$tree/lib/modules" -name 'iscsi_tcp.ko*' 2> /dev/null) ]] || missing+=" iscsi_tcp.ko"
	if ((status == 0)) && [[ -z $out && -z $missing ]]; then
		ok "$name: sd-iscsi's image part: units verified by systemd-analyze in it, enabled, the login's pieces present"
	else
		not_ok "$name: sd-iscsi's image part: units verified by systemd-analyze in it, enabled, the login's pieces present" \
			"verify exit $status: ${out:-no output}; missing:${missing:- nothing}"
	fi
	status=0
	out=$(chroot "$tree" /usr/lib/iscsi-rootd/iscsi-rootd-initrd 2>&1) || status=$?
	if ((status == 2)) && [[ $out == "usage: iscsi-rootd-initrd run_hook|run_latehook" ]]; then
		ok "$name: sd-iscsi's runner starts in that image (busybox ash from base)"
	else
		not_ok "$name: sd-iscsi's runner starts in that image (busybox ash from base)" "exit $status: $out"
	fi
}

# i-mkinitcpio-dhcp: the same image, no ip=: the hook runs DHCP on eth0.
scenario_i_mkinitcpio_dhcp() {
	local name=i-mkinitcpio-dhcp
	assert_initramfs_boot "$name" '^mkinitcpio \(busybox init'
	if grep -aq 'iscsi: configuring eth0 by DHCP' "$RUN_DIR/console.log"; then
		ok "$name: the hook configured eth0 by DHCP"
	else
		not_ok "$name: the hook configured eth0 by DHCP" "$(grep -a 'iscsi:' "$RUN_DIR/console.log" | head -n 3)"
	fi
}

# assert_initramfs_boot NAME GENERATOR_REGEX: / is sda of a LOGGED_IN session to the root target, systemd is up
# with no failed unit, the daemon runs and tuned sda; the session has NOPs 0/0 and recovery_tmo 86400 from the
# login itself (the daemon did not have to raise it); check has no fail, its initramfs item is ok and names
# the generator, and its units came from systemd over sd-bus.
assert_initramfs_boot() {
	local name=$1 generator=$2 session timers raised unread
	if guest "findmnt -n -o SOURCE,FSTYPE,OPTIONS /" && [[ $GUEST_OUT =~ ^/dev/sda\ +ext4\ +rw, ]]; then
		ok "$name: / is /dev/sda, ext4, read-write"
	else
		not_ok "$name: / is /dev/sda, ext4, read-write" "findmnt /: $GUEST_OUT"
	fi
	assert_root_session_logged_in "$name: the root session to $ROOT_IQN is LOGGED_IN"
	session=$GUEST_SESSION
	if guest "systemctl is-system-running --wait" && [[ $GUEST_OUT == running ]]; then
		ok "$name: systemd is running with no failed unit"
	else
		guest "systemctl list-units --failed --plain --no-legend" || true
		not_ok "$name: systemd is running with no failed unit" "failed: $(echo "$GUEST_OUT" | awk '{ print $1 }' | paste -sd ' ')"
	fi
	daemon_check "$name: iscsi-rootd.service active after READY=1" assert_daemon_ready
	daemon_check "$name: root disk device/timeout 90" assert_root_disk_timeout
	# shellcheck disable=SC2016 # expanded by the guest's shell
	guest "cat /sys/class/iscsi_session/$session/recovery_tmo; for c in /sys/class/iscsi_session/$session/device/connection*/iscsi_connection/*; do cat \$c/ping_tmo \$c/recv_tmo; done" || true
	timers=$(echo "$GUEST_OUT" | paste -sd ' ')
	read_daemon_journal
	raised=$(journal_count "recovery_tmo of a root session raised")
	unread=$(journal_unread "recovery_tmo of a root session raised")
	if [[ $timers == "86400 0 0" && -z $unread && $raised == 0 ]]; then
		ok "$name: the login set NOPs 0/0 and recovery_tmo 86400 (the daemon raised nothing)"
	else
		not_ok "$name: the login set NOPs 0/0 and recovery_tmo 86400 (the daemon raised nothing)" \
			"recovery_tmo ping_tmo recv_tmo: $timers; raised by the daemon: ${unread:-$raised}"
	fi
	daemon_check "$name: check has no fail; initramfs ok for this generator; units from systemd" assert_check_initramfs "$generator"
}

# assert_check_initramfs NAME GENERATOR_REGEX
assert_check_initramfs() {
	local status=0 fails initramfs service
	guest "iscsi-rootd check --json" || status=$?
	fails=$(echo "$GUEST_OUT" | jq -r '.items[] | select(.verdict == "fail") | "\(.id): \(.detail)"' 2> /dev/null | paste -sd ';')
	initramfs=$(echo "$GUEST_OUT" | jq -r '.items[] | select(.id == "initramfs") | "\(.verdict) \(.detail)"' 2> /dev/null)
	service=$(echo "$GUEST_OUT" | jq -r '.items[] | select(.id == "service") | .detail' 2> /dev/null)
	note "check initramfs: $initramfs"
	if ((status < 2)) && [[ -z $fails && $initramfs =~ ^ok\ ${2#^} && $service == *"systemd says UnitFileState=enabled"* ]]; then
		ok "$1"
	else
		not_ok "$1" "exit $status; fails: ${fails:-none}; initramfs: ${initramfs:-missing}; service: ${service:-missing}"
	fi
}
