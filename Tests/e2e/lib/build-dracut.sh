# shellcheck shell=bash
# The dracut client of lib/scenarios-dracut.sh: the one-path diskless client with Debian's dracut and
# dracut-network in its root, set up the way docs/boot-chain.md says (its dracut-iscsi-rootd.conf in
# /etc/dracut.conf.d), its initramfs made by that dracut. Sourced by Tests/e2e/run after lib/build-initramfs.sh.
# Built in a cached layer of its own: the base plus DRACUT_PACKAGES (dracut conflicts with initramfs-tools, so it
# cannot share a layer with that client).

DRACUT_PACKAGES=(dracut dracut-network)
# dracut's iscsi module logs in with iscsiadm after a SendTargets discovery and then asks for the node record of
# the portal it dialled: the target must name the address the guest dials. tgtd names its own address, so the
# dracut boot runs tgtd and QEMU in a network namespace of their own (make_netns) whose lo holds this address,
# which QEMU's user network reaches from the guest (through its gateway 10.0.2.2) like any outside address.
DRACUT_PORTAL_ADDRESS=192.0.2.10
DRACUT_NETNS=iscsi-rootd-e2e

build_dracut_image() {
	build_package_layer dracut-base "$BASE_DIR" "${DRACUT_PACKAGES[@]}"
	# dracut's iscsi module installs these with the iSCSI modules (iBFT support), failing without them.
	local GUEST_MODULES=("${GUEST_MODULES[@]}" iscsi_ibft iscsi_boot_sysfs) INITRAMFS_BUILDER=build_dracut_initramfs
	build_guest_image dracut-image "$LAYER_DIR" setup_dracut_client
	DRACUT_IMAGE_DIR=$GUEST_IMAGE_DIR
}

# docs/boot-chain.md's dracut setup: the node record for the portal it boots from, and the example config installed.
setup_dracut_client() {
	local rootfs=$1
	setup_root_client "$rootfs" "$DRACUT_PORTAL_ADDRESS:3260"
	install -D -m 0644 "$rootfs/usr/share/doc/iscsi-rootd/examples/dracut-iscsi-rootd.conf" \
		"$rootfs/etc/dracut.conf.d/iscsi-rootd.conf"
}

# dracut run in the client's root, as its administrator would (dracut -f), with --no-hostonly: the image is not
# built on a client booted from that disk, so the kernel command line names the root (boot_dracut).
# /proc and /dev are mounted in a mount namespace of its own, gone when dracut ends.
build_dracut_initramfs() {
	local rootfs=$1 output=$2
	# shellcheck disable=SC2016 # expanded by that shell
	unshare --mount --propagation private sh -c 'mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
		chroot "$1" dracut --force --no-hostonly --kver "$2" /tmp/initrd.img' sh "$rootfs" "$KERNEL_VERSION" \
		>> "$BUILD_LOG" 2>&1 || die "dracut failed in the guest (see $BUILD_LOG)"
	mv "$rootfs/tmp/initrd.img" "$output"
}

# netroot= and the initiator name on the kernel command line (dracut.cmdline(7)) and ip=dhcp: with a static
# ip=, network-legacy flushes every address of eth0, its IPv6 link-local one too, and the root's networkd (DHCP=yes)
# then waits for that address until systemd-networkd-wait-online fails (docs/boot-chain.md). rd.shell=0 ends a failed boot
# instead of waiting in dracut's emergency shell.
boot_dracut() {
	BOOT_IMAGE_DIR=$DRACUT_IMAGE_DIR
	BOOT_CMDLINE="root=LABEL=root rw netroot=iscsi:$DRACUT_PORTAL_ADDRESS::3260:1:$ROOT_IQN rd.iscsi.initiator=$INITIATOR ip=dhcp rd.shell=0"
	BOOT_QEMU_ARGS=()
	make_netns "$DRACUT_NETNS" "$DRACUT_PORTAL_ADDRESS"
	BOOT_NETNS=$DRACUT_NETNS
}
