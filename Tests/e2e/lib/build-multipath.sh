# shellcheck shell=bash
# The multipath client's guest (lib/scenarios-multipath.sh): / on a dm-multipath map over two sessions to the
# root target, one through each of two QEMU user networks. Sourced by Tests/e2e/run after lib/build.sh.

MULTIPATH_PACKAGES=(multipath-tools)
MULTIPATH_MAP=mpatha
# One initiator name per path: the same name twice would make tgtd take the second login for a reinstatement
# of the first. Path 0 runs over eth0 (QEMU user network n0, host 10.0.2.2), path 1 over eth1 (n1, 10.0.3.2).
MULTIPATH_INITIATORS=("$INITIATOR-path0" "$INITIATOR-path1")
MULTIPATH_PORTALS=(10.0.2.2:3260 10.0.3.2:3260)

# The one-path base plus MULTIPATH_PACKAGES (build_package_layer); sets MULTIPATH_BASE_DIR.
build_multipath_base() {
	build_package_layer multipath-base "$BASE_DIR" "${MULTIPATH_PACKAGES[@]}"
	MULTIPATH_BASE_DIR=$LAYER_DIR
}

# The multipath guest's image; sets MULTIPATH_IMAGE_DIR. The initramfs also loads dm-multipath and runs
# dmsetup; the root gets the path selector multipathd uses by default (service-time).
build_multipath_image() {
	build_multipath_base
	local INITRAMFS_MODULES=("${INITRAMFS_MODULES[@]}" dm_multipath dm_round_robin)
	local GUEST_MODULES=("${GUEST_MODULES[@]}" dm_multipath dm_round_robin dm_service_time)
	local INITRAMFS_PROGRAMS=("${INITRAMFS_PROGRAMS[@]}" dmsetup)
	build_guest_image multipath-image "$MULTIPATH_BASE_DIR" setup_multipath_client
	MULTIPATH_IMAGE_DIR=$GUEST_IMAGE_DIR
}

# What the administrator of a client with its root on dm-multipath does: / in fstab on the map with the
# project's options, multipath.conf for the LUN with queueing when no path is left (the root must never see
# an I/O error because both paths are gone for a while), multipathd and iscsid kept through shutdown and
# running from boot (iscsid logs a path in again after a cut), the NIC of path 0 under systemd-networkd.
setup_multipath_client() {
	local rootfs=$1 examples=$1/usr/share/doc/iscsi-rootd/examples
	awk -v map="/dev/mapper/$MULTIPATH_MAP" '!/^#/ && NF { $1 = map; print }' "$examples/fstab" > "$rootfs/etc/fstab"
	cat > "$rootfs/etc/multipath.conf" <<- 'EOF'
		# The e2e client's root LUN (tgtd), reached through two portals.
		defaults {
			user_friendly_names yes
			find_multipaths yes
		}
		devices {
			device {
				vendor "IET"
				product "VIRTUAL-DISK"
				path_grouping_policy multibus
				no_path_retry queue
			}
		}
	EOF
	# Debian's multipathd.service has Conflicts= and Before=shutdown.target, which a drop-in cannot remove:
	# a whole-unit copy without them, as examples/iscsid.service is for iscsid.
	sed -e '/^Conflicts=shutdown.target$/d' -e '/^Before=/s/ shutdown.target//' \
		"$rootfs/lib/systemd/system/multipathd.service" > "$rootfs/etc/systemd/system/multipathd.service"
	install_client_services "$rootfs"
	chroot "$rootfs" systemctl enable iscsid.service >> "$BUILD_LOG" 2>&1 ||
		die "systemctl enable iscsid.service failed in the guest (see $BUILD_LOG)"
}

# The multipath client: two NICs, each on its own QEMU user network; the monitor's set_link n0|n1 cuts a path.
boot_multipath() {
	BOOT_IMAGE_DIR=$MULTIPATH_IMAGE_DIR
	BOOT_CMDLINE="e2e.initiator=${MULTIPATH_INITIATORS[0]},${MULTIPATH_INITIATORS[1]} e2e.target=$ROOT_IQN"
	BOOT_CMDLINE+=" e2e.portal=${MULTIPATH_PORTALS[0]},${MULTIPATH_PORTALS[1]} e2e.multipath=$MULTIPATH_MAP"
	BOOT_QEMU_ARGS=(-netdev user,id=n1,net=10.0.3.0/24 -device virtio-net-pci,netdev=n1)
}
