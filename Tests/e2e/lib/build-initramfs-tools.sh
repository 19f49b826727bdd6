# shellcheck shell=bash
# The initramfs-tools client of lib/scenarios-initramfs-tools.sh: the one-path diskless client as a stock Debian
# one has it: Debian's initramfs-tools with open-iscsi's hook and local-top/iscsi, the project's iscsi.initramfs
# installed as /etc/iscsi/iscsi.initramfs with the root's target (docs/boot-chain.md), its initramfs made by
# update-initramfs in the client's root, static ip= on the kernel command line. Sourced by Tests/e2e/run after
# lib/build-initramfs.sh.
# Built in a cached layer of its own: the base plus INITRAMFS_TOOLS_PACKAGES (initramfs-tools conflicts with
# dracut, so it cannot share a layer with that client); busybox and zstd are initramfs-tools-core's Recommends,
# which a stock install has (initramfs.conf's BUSYBOX=auto, COMPRESS=zstd).

INITRAMFS_TOOLS_PACKAGES=(initramfs-tools busybox zstd)

build_initramfs_tools_image() {
	build_package_layer initramfs-tools-base "$BASE_DIR" "${INITRAMFS_TOOLS_PACKAGES[@]}"
	local INITRAMFS_BUILDER=build_initramfs_tools_initramfs
	build_guest_image initramfs-tools-image "$LAYER_DIR" setup_initramfs_tools_client
	INITRAMFS_TOOLS_IMAGE_DIR=$GUEST_IMAGE_DIR
}

# docs/boot-chain.md's initramfs-tools setup: the example copied to /etc/iscsi/iscsi.initramfs with ISCSI_TARGET_NAME and
# ISCSI_TARGET_IP set (the initiator name comes from /etc/iscsi/initiatorname.iscsi, which open-iscsi's hook
# copies into the image).
setup_initramfs_tools_client() {
	local rootfs=$1 file=$1/etc/iscsi/iscsi.initramfs
	setup_root_client "$rootfs"
	sed -e "s/^#ISCSI_TARGET_NAME=.*/ISCSI_TARGET_NAME=$ROOT_IQN/" -e 's/^#ISCSI_TARGET_IP=.*/ISCSI_TARGET_IP=10.0.2.2/' \
		"$rootfs/usr/share/doc/iscsi-rootd/examples/iscsi.initramfs" > "$file"
	grep -q "^ISCSI_TARGET_NAME=$ROOT_IQN\$" "$file" && grep -q '^ISCSI_TARGET_IP=10.0.2.2$' "$file" ||
		die "the example iscsi.initramfs has no #ISCSI_TARGET_NAME=/#ISCSI_TARGET_IP= lines to set"
	# initramfs-tools mounts /run noexec (systemd keeps that mount): the agent's copies of busybox and itself
	# run from a tmpfs of their own over /run/e2e, the client's /run stays as initramfs-tools made it.
	mkdir -p "$rootfs/etc/systemd/system/e2e-agent.service.d"
	printf '%s\n' '[Service]' 'ExecStartPre=' 'ExecStartPre=/bin/mount -t tmpfs -o mode=0755,size=16m e2e-agent /run/e2e' \
		'ExecStartPre=/bin/cp /usr/local/lib/e2e/busybox /usr/local/lib/e2e/agent /run/e2e/' \
		> "$rootfs/etc/systemd/system/e2e-agent.service.d/exec.conf"
}

# update-initramfs run in the client's root, as its kernel package's postinst does, with the kernel's config in
# /boot as the package puts it there (mkinitramfs reads it). /proc and /dev are mounted in a mount namespace of
# its own, gone when it ends. The image stays in /boot, where a stock client has it.
build_initramfs_tools_initramfs() {
	local rootfs=$1 output=$2
	install -m 0644 "$KERNEL_DIR/boot/config-$KERNEL_VERSION" "$rootfs/boot/config-$KERNEL_VERSION"
	# shellcheck disable=SC2016 # expanded by that shell
	unshare --mount --propagation private sh -c 'mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
		chroot "$1" update-initramfs -c -k "$2"' sh "$rootfs" "$KERNEL_VERSION" >> "$BUILD_LOG" 2>&1 ||
		die "update-initramfs failed in the guest (see $BUILD_LOG)"
	cp "$rootfs/boot/initrd.img-$KERNEL_VERSION" "$output"
}

# A stock Debian command line: the root by label, read-only until systemd remounts it, static ip= (configured by
# initramfs-tools' configure_networking). The root target refuses logins at first: the example's iscsistart
# wrapper must retry.
boot_initramfs_tools() {
	BOOT_IMAGE_DIR=$INITRAMFS_TOOLS_IMAGE_DIR
	BOOT_CMDLINE="root=LABEL=root ro ip=$STATIC_IP"
	BOOT_QEMU_ARGS=()
	refuse_logins_at_boot 'iscsi-rootd: iSCSI login failed (attempt 1)'
}
