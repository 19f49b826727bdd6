# shellcheck shell=bash
# The guests of lib/scenarios-initramfs.sh: the same diskless client, its initramfs built the way a user's
# generator would, set up the way docs/boot-chain.md says. Sourced by Tests/e2e/run after lib/build.sh.
#   mkinitcpio        the project's hook (packaging/arch/initcpio) run by guest/mkinitcpio-init, which runs
#                     hooks the way mkinitcpio's busybox init does; the image is made by the project's install
#                     hook run with mkinitcpio's build functions (below). Booted twice: static ip= with the
#                     target refusing logins at first, and DHCP.
# Built in a cached layer: the base plus INITRAMFS_PACKAGES (klibc's ipconfig for the hook).

INITRAMFS_PACKAGES=(klibc-utils)
# The static ip= boot's address (QEMU's user network hands out the same by DHCP).
STATIC_IP=10.0.2.15::10.0.2.2:255.255.255.0::eth0:none
# The mkinitcpio boot with static ip= finds the root target refusing logins until this long after its first
# failed attempt.
TARGET_DOWN_SECONDS=4

# The base plus INITRAMFS_PACKAGES (build_package_layer); sets INITRAMFS_BASE_DIR.
build_initramfs_base() {
	build_package_layer initramfs-base "$BASE_DIR" "${INITRAMFS_PACKAGES[@]}"
	INITRAMFS_BASE_DIR=$LAYER_DIR
}

# --- mkinitcpio: the project's hook with mkinitcpio's busybox init protocol (guest/mkinitcpio-init)

# Both mkinitcpio boots use one image.
build_mkinitcpio_static_image() { build_mkinitcpio_image; }
build_mkinitcpio_dhcp_image() { build_mkinitcpio_image; }

build_mkinitcpio_image() {
	build_initramfs_base
	local INITRAMFS_BUILDER=build_mkinitcpio_initramfs
	build_guest_image mkinitcpio-image "$INITRAMFS_BASE_DIR" setup_mkinitcpio_client
	MKINITCPIO_IMAGE_DIR=$GUEST_IMAGE_DIR
}

# docs/boot-chain.md's Arch setup: the hook installed (make install-initcpio) and named in HOOKS.
setup_mkinitcpio_client() {
	local rootfs=$1
	setup_root_client "$rootfs"
	printf '%s\n' '# mkinitcpio: the diskless client (iscsi-rootd README)' \
		'HOOKS=(base udev autodetect modconf block iscsi filesystems fsck)' > "$rootfs/etc/mkinitcpio.conf"
}

# The image mkinitcpio would make from HOOKS=(… iscsi …): guest/mkinitcpio-init as /init with busybox, the
# modules the base, autodetect, block and filesystems hooks pick for this machine (INITRAMFS_MODULES), and
# whatever the project's install hook (usr/lib/initcpio/install/iscsi) adds through mkinitcpio's build
# functions, emulated by mkinitcpio_add_* below.
build_mkinitcpio_initramfs() {
	local rootfs=$1 output=$2 tree module
	tree=$(dirname "$output")/initramfs
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,dev,proc,sys,run,new_root,hooks,etc} "$tree/lib/modules/$KERNEL_VERSION"
	install -m 0755 /bin/busybox "$tree/bin/busybox"
	install -m 0755 "$E2E_DIR/guest/mkinitcpio-init" "$tree/init"
	: > "$tree/modules"
	for module in "${INITRAMFS_MODULES[@]}"; do
		mkinitcpio_add_module "$rootfs" "$tree" "$module"
	done
	mkinitcpio_run_install_hook "$rootfs" "$tree" iscsi
	build_mkinitcpio_systemd_tree "$rootfs" "$(dirname "$output")/sd-iscsi-initramfs"
	echo 'HOOKS="base udev autodetect modconf block iscsi filesystems fsck"' > "$tree/config"
	cp "$KERNEL_DIR/lib/modules/$KERNEL_VERSION"/modules.{order,builtin,builtin.modinfo} "$tree/lib/modules/$KERNEL_VERSION/"
	depmod -b "$tree" "$KERNEL_VERSION"
	(cd "$tree" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$output"
	rm -rf "$tree"
}

# mkinitcpio_run_install_hook ROOTFS TREE HOOK: the project's install hook usr/lib/initcpio/install/HOOK (from
# make install-initcpio) run with mkinitcpio's build functions, emulated, adding to TREE (BUILDROOT).
mkinitcpio_run_install_hook() {
	local rootfs=$1 tree=$2 hook=$3
	[[ -f $rootfs/usr/lib/initcpio/install/$hook ]] || die "make install-initcpio put no usr/lib/initcpio/install/$hook"
	(
		# shellcheck disable=SC2034  # read by the install hook
		BUILDROOT=$tree
		# shellcheck disable=SC2317  # called by the install hook
		add_module() { mkinitcpio_add_module "$rootfs" "$tree" "$1"; }
		# autodetect keeps the NIC drivers of this machine.
		# shellcheck disable=SC2317
		add_checked_modules() { mkinitcpio_add_module "$rootfs" "$tree" virtio_net; }
		# shellcheck disable=SC2317
		add_binary() { mkinitcpio_add_binary "$rootfs" "$tree" "$@"; }
		# add_file SOURCE [DEST [MODE]]: SOURCE in the guest's root (a hook's own ${BASH_SOURCE%/*} already is).
		# shellcheck disable=SC2317
		add_file() {
			local source=$1 dest=${2:-$1}
			[[ $source == "$rootfs"/* ]] || source=$rootfs$source
			dest=${dest#"$rootfs"}
			install -D -m "${3:-0644}" "$source" "$tree$dest"
		}
		# shellcheck disable=SC2317
		add_symlink() { mkdir -p "$tree$(dirname "$1")" && ln -sfn "${2:-$1}" "$tree$1"; }
		# shellcheck disable=SC2317
		add_runscript() { install -m 0755 "$rootfs/usr/lib/initcpio/hooks/$hook" "$tree/hooks/$hook"; }
		# shellcheck disable=SC2317
		warning() { echo "mkinitcpio install/$hook: WARNING: $*" >> "$BUILD_LOG"; }
		# shellcheck source=/dev/null
		. "$rootfs/usr/lib/initcpio/install/$hook"
		build
	) || die "the project's mkinitcpio install hook $hook failed (see $BUILD_LOG)"
}

# build_mkinitcpio_systemd_tree ROOTFS TREE: the part of an image for HOOKS=(base systemd … block sd-iscsi …)
# that the project's install hook sd-iscsi adds, on top of what base adds (busybox and its ash). mkinitcpio's
# systemd hook itself (systemd, udev, the initrd units) cannot be emulated here, so this tree is not booted:
# scenario i-mkinitcpio checks its contents.
build_mkinitcpio_systemd_tree() {
	local rootfs=$1 tree=$2
	rm -rf "$tree"
	install -D -m 0755 /bin/busybox "$tree/usr/bin/busybox"
	ln -s busybox "$tree/usr/bin/ash"
	mkinitcpio_run_install_hook "$rootfs" "$tree" sd-iscsi
}

# mkinitcpio_add_module ROOTFS TREE NAME[?]: the module and its dependencies (NAME? is optional), loaded by
# the init in the order added.
mkinitcpio_add_module() {
	local tree=$2 name=${3%\?} file modules=$KERNEL_DIR/lib/modules/$KERNEL_VERSION
	if ! modprobe -d "$KERNEL_DIR" -S "$KERNEL_VERSION" --show-depends "$name" > /dev/null 2>&1; then
		[[ $3 == *\? ]] && return 0
		die "mkinitcpio add_module: kernel $KERNEL_VERSION has no module $name"
	fi
	module_files "$name" | while read -r file; do
		install -D -m 0644 "$file" "$tree/lib/modules/$KERNEL_VERSION/${file#"$modules"/}"
	done
	echo "$name" >> "$tree/modules"
}

# mkinitcpio_add_binary ROOTFS TREE BINARY [DEST]: the guest's binary (by name: from its PATH) and the
# libraries ldd lists. mkinitcpio-nfs-utils' /usr/lib/initcpio/ipconfig is klibc's ipconfig, which Debian
# ships in klibc-utils (with its klibc library).
mkinitcpio_add_binary() {
	local rootfs=$1 tree=$2 source=$3 dest=${4:-$3} file
	if [[ $source == /usr/lib/initcpio/ipconfig ]]; then
		source=/usr/lib/klibc/bin/ipconfig
		# Its program interpreter is /lib/klibc-*.so.
		for file in "$rootfs"/usr/lib/klibc-*.so; do
			install -D -m 0755 "$file" "$tree/lib/${file##*/}"
		done
	fi
	if [[ $source != /* ]]; then
		source=$(chroot "$rootfs" sh -c "command -v $source") || die "mkinitcpio add_binary: no $3 in the guest"
		dest=${4:-$source}
	fi
	install -D -m 0755 "$rootfs$source" "$tree$dest"
	# klibc programs are static to ldd ("not a dynamic executable").
	for file in $(chroot "$rootfs" ldd "$source" 2> /dev/null | awk '/\// { print ($2 == "=>") ? $3 : $1 }'); do
		[[ -e $tree$file ]] || install -D -m 0755 "$rootfs$file" "$tree$file"
	done
}

# Static ip=: the hook's iscsi_target_* words; root= as mkinitcpio's init mounts it.
boot_mkinitcpio_static() {
	BOOT_IMAGE_DIR=$MKINITCPIO_IMAGE_DIR
	BOOT_CMDLINE="root=/dev/sda rw ip=$STATIC_IP iscsi_initiator=$INITIATOR iscsi_target_name=$ROOT_IQN iscsi_target_ip=10.0.2.2"
	BOOT_QEMU_ARGS=()
	refuse_logins_at_boot
}

# No ip=: the hook runs DHCP on the first interface.
boot_mkinitcpio_dhcp() {
	BOOT_IMAGE_DIR=$MKINITCPIO_IMAGE_DIR
	BOOT_CMDLINE="root=/dev/sda rw iscsi_initiator=$INITIATOR iscsi_target_name=$ROOT_IQN iscsi_target_ip=10.0.2.2"
	BOOT_QEMU_ARGS=()
}

# refuse_logins_at_boot [PATTERN]: as soon as the root target exists it refuses every initiator (its ACL
# unbound), until the console shows the initramfs's first failed login (PATTERN, a grep basic regex; default the
# project's mkinitcpio hook's line) and TARGET_DOWN_SECONDS more have passed: the initramfs meets a target that
# is down, however long the kernel takes to get there.
refuse_logins_at_boot() {
	local first_failure=${1:-'iscsi: login to .* failed (attempt 1)'}
	(
		local waited=0
		until tgtadm -C 0 --lld iscsi --op show --mode target 2> /dev/null | grep -q "^Target 1:"; do
			((++waited < 300)) || exit 1
			sleep 0.1
		done
		tgtadm -C 0 --lld iscsi --op unbind --mode target --tid 1 -I ALL
		echo "$(date +%s.%N) refusing logins" > "$RUN_DIR/target-down.log"
		waited=0
		until grep -aq -- "$first_failure" "$RUN_DIR/console.log" 2> /dev/null; do
			((++waited < 1200)) || break
			sleep 0.1
		done
		sleep "$TARGET_DOWN_SECONDS"
		tgtadm -C 0 --lld iscsi --op bind --mode target --tid 1 -I ALL
		echo "$(date +%s.%N) accepting logins" >> "$RUN_DIR/target-down.log"
	) > /dev/null 2>&1 &
}
