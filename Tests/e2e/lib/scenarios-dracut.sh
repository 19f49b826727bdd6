# shellcheck shell=bash
# A short boot of the diskless client through Debian's dracut (lib/build-dracut.sh): the essential a-boot
# assertions, the login's settings as the kernel runs them, and `check` naming dracut. Sourced by Tests/e2e/run.

SCENARIOS+=(i-dracut)
SCENARIO_BOOT["i-dracut"]=dracut

# i-dracut: dracut's iscsi module logged / in with the project's rd.iscsi.param= settings.
scenario_i_dracut() {
	local name=i-dracut
	assert_initramfs_boot "$name" '^dracut'
	# The settings came through the image's /etc/cmdline.d, not the boot's own command line.
	if guest "cat /proc/cmdline" && [[ $GUEST_OUT == *netroot=iscsi:* && $GUEST_OUT != *rd.iscsi.param=* ]]; then
		ok "$name: the kernel command line has netroot= and no rd.iscsi.param= (they came from the image)"
	else
		not_ok "$name: the kernel command line has netroot= and no rd.iscsi.param= (they came from the image)" "$GUEST_OUT"
	fi
}
