# shellcheck shell=bash
# Builds what the e2e guest boots: kernel, initramfs and root file system image. Sourced by Tests/e2e/run.
# Every product lands in $CACHE under a key made from what went into it, so a warm run builds nothing.

HOST_PACKAGES=(qemu-system-x86 qemu-utils debootstrap busybox-static cpio tgt e2fsprogs kmod jq prometheus)
GUEST_PACKAGES=systemd,systemd-sysv,udev,open-iscsi,kmod,iproute2,procps,util-linux,prometheus-node-exporter
# The initramfs loads these (and what they depend on, found by modprobe); the root gets them plus the rest.
INITRAMFS_MODULES=(virtio_pci virtio_net iscsi_tcp sd_mod ext4 crc32c_generic crc64_rocksoft_generic)
GUEST_MODULES=("${INITRAMFS_MODULES[@]}" virtio_console)
# Programs the initramfs runs besides busybox, copied from the root file system with their libraries.
INITRAMFS_PROGRAMS=(iscsistart)
IMAGE_SIZE=1536M

# Installs the host tools that are missing, with the project's own step (it waits for apt's locks).
ensure_host_packages() {
	local tool missing=0
	for tool in qemu-system-x86_64 qemu-img debootstrap cpio tgtd tgtadm mke2fs depmod modprobe jq; do
		command -v "$tool" > /dev/null || missing=1
	done
	dpkg-query -W -f '${Status}\n' busybox-static 2> /dev/null | grep -q 'install ok installed' || missing=1
	((missing)) || return 0
	note "installing host packages: ${HOST_PACKAGES[*]}"
	timeout 1500 "$PROJECT_DIR/scripts/ensure-packages" "${HOST_PACKAGES[@]}" >> "$BUILD_LOG" 2>&1 ||
		die "scripts/ensure-packages ${HOST_PACKAGES[*]} failed (see $BUILD_LOG)"
}

# The Debian mirror apt already uses on this host (deb822 .sources first, then one-line .list files).
host_mirror() {
	local uri
	uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
		/etc/apt/sources.list.d/*.sources 2> /dev/null || true)
	[[ -n $uri ]] || uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null || true)
	[[ -n $uri ]] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
	echo "$uri"
}

host_suite() {
	(. /etc/os-release && echo "$VERSION_CODENAME")
}

# The kernel package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64.
kernel_package() {
	apt-cache depends linux-image-amd64 2> /dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# Downloads and unpacks the kernel; sets KERNEL_VERSION, KERNEL_DEB and KERNEL_DIR (with modules.dep).
fetch_kernel() {
	local package deb
	package=$(kernel_package)
	if [[ -z $package ]]; then
		timeout 1200 "$PROJECT_DIR/scripts/apt-get-waiting" update -q >> "$BUILD_LOG" 2>&1 ||
			die "apt-get update failed (see $BUILD_LOG)"
		package=$(kernel_package)
	fi
	[[ -n $package ]] || die "apt knows no linux-image-amd64"
	KERNEL_VERSION=${package#linux-image-}
	mkdir -p "$CACHE/debs"
	deb=$(find "$CACHE/debs" -maxdepth 1 -name "${package}_*.deb" | sort | tail -n 1)
	if [[ -z $deb ]]; then
		note "downloading $package"
		(cd "$CACHE/debs" && timeout 600 apt-get download -q -o APT::Sandbox::User=root "$package") >> "$BUILD_LOG" 2>&1 ||
			die "apt-get download $package failed (mirror unreachable? see $BUILD_LOG)"
		deb=$(find "$CACHE/debs" -maxdepth 1 -name "${package}_*.deb" | sort | tail -n 1)
	fi
	KERNEL_DEB=$(basename "$deb")
	KERNEL_DIR=$CACHE/kernel/${KERNEL_DEB%.deb}
	[[ -e $KERNEL_DIR/.done ]] && return 0
	rm -rf "$KERNEL_DIR"
	mkdir -p "$KERNEL_DIR"
	dpkg -x "$deb" "$KERNEL_DIR"
	depmod -b "$KERNEL_DIR" "$KERNEL_VERSION"
	touch "$KERNEL_DIR/.done"
}

# Prints the module files NAMES need, dependencies first, each once.
module_files() {
	local name
	for name in "$@"; do
		modprobe -d "$KERNEL_DIR" -S "$KERNEL_VERSION" --show-depends "$name" ||
			die "kernel $KERNEL_VERSION has no module $name"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# debootstrap's result, keyed by suite, mirror and package list; sets BASE_DIR.
build_base() {
	local suite mirror key
	suite=$(host_suite)
	mirror=$(host_mirror)
	key=$(printf '%s\n' minbase "$suite" "$mirror" "$GUEST_PACKAGES" | sha256sum | cut -c1-16)
	BASE_DIR=$CACHE/base-$key
	[[ -e $BASE_DIR/.done ]] && return 0
	note "debootstrap $suite from $mirror"
	rm -rf "$BASE_DIR" "$BASE_DIR.tmp"
	mkdir -p "$CACHE/debs"
	timeout 900 debootstrap --variant=minbase --include="$GUEST_PACKAGES" --cache-dir="$CACHE/debs" \
		"$suite" "$BASE_DIR.tmp" "$mirror" >> "$BUILD_LOG" 2>&1 ||
		die "debootstrap $suite from $mirror failed (mirror unreachable? see $BUILD_LOG)"
	mv "$BASE_DIR.tmp" "$BASE_DIR"
	touch "$BASE_DIR/.done"
}

# Builds iscsi-rootd and installs it with the project's own install step (`make install`, as a package
# would: PREFIX=/usr, the default static runtime) into $PROJECT_DEST, from the committed HEAD: uncommitted edits in
# a shared checkout are not the thing under test.
build_project() {
	PROJECT_SOURCE=$CACHE/source
	PROJECT_DEST=$CACHE/project
	rm -rf "$PROJECT_SOURCE" "$PROJECT_DEST"
	mkdir -p "$PROJECT_SOURCE"
	git -C "$PROJECT_DIR" archive HEAD | tar -x -C "$PROJECT_SOURCE" || die "git archive HEAD of $PROJECT_DIR failed"
	note "make install of iscsi-rootd $(git -C "$PROJECT_DIR" rev-parse --short HEAD) (swift build release, static runtime)"
	timeout 1200 make -C "$PROJECT_SOURCE" install install-initcpio DESTDIR="$PROJECT_DEST" PREFIX=/usr \
		SCRATCH="$PROJECT_DIR/.build-e2e" >> "$BUILD_LOG" 2>&1 || die "make install failed (see $BUILD_LOG)"
	[[ -x $PROJECT_DEST/usr/bin/iscsi-rootd ]] || die "make install put no /usr/bin/iscsi-rootd"
}

# Everything of the project that goes into the image, as "HASH PATH" lines.
project_files() {
	(cd "$PROJECT_DEST" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

# Puts the installed project into the guest's root file system and does what a package's postinst would.
install_project_into() {
	local rootfs=$1
	cp -a "$PROJECT_DEST/." "$rootfs/"
	chroot "$rootfs" systemctl enable iscsi-rootd.service >> "$BUILD_LOG" 2>&1 ||
		die "systemctl enable iscsi-rootd.service failed in the guest (see $BUILD_LOG)"
	chroot "$rootfs" journalctl --update-catalog
}

# What the administrator of a diskless client does after installing the package, with its examples
# (the fixes `iscsi-rootd check` names): / in fstab with the example's options, the root node record set by
# iscsi-root-node.sh (for PORTAL, default 10.0.2.2:3260), and iscsid.service without Conflicts=shutdown.target.
setup_root_client() {
	local rootfs=$1 portal=${2:-10.0.2.2:3260} examples=$1/usr/share/doc/iscsi-rootd/examples
	awk '!/^#/ && NF { $1 = "LABEL=root"; print }' "$examples/fstab" > "$rootfs/etc/fstab"
	grep -q x-systemd "$rootfs/etc/fstab" || die "no fstab line for / in $examples/fstab"
	chroot "$rootfs" iscsiadm -m node -o new -T "$ROOT_IQN" -p "$portal" >> "$BUILD_LOG" 2>&1 || true
	chroot "$rootfs" sh /usr/share/doc/iscsi-rootd/examples/iscsi-root-node.sh "$ROOT_IQN" "$portal" \
		>> "$BUILD_LOG" 2>&1 || die "iscsi-root-node.sh failed in the guest (see $BUILD_LOG)"
	install_client_services "$rootfs"
}

# iscsid.service without Conflicts=shutdown.target (the project's example), and the boot NIC managed by
# systemd-networkd, as on Arch diskless clients, with the project's example (KeepConfiguration=yes; QEMU's own
# DHCP hands out the address the initramfs set, 10.0.2.15).
install_client_services() {
	local rootfs=$1 examples=$1/usr/share/doc/iscsi-rootd/examples
	cp "$examples/iscsid.service" "$rootfs/etc/systemd/system/iscsid.service"
	install -D -m 0644 "$examples/50-iscsi-root.network" "$rootfs/etc/systemd/network/50-iscsi-root.network"
	chroot "$rootfs" systemctl enable systemd-networkd.service >> "$BUILD_LOG" 2>&1 ||
		die "systemctl enable systemd-networkd.service failed in the guest (see $BUILD_LOG)"
	# Metrics for node_exporter's textfile collector (issue 13): the key and the example drop-in that opens
	# exactly that directory in the unit's sandbox.
	install -D -m 0644 "$examples/iscsi-rootd.service.d/metrics.conf" "$rootfs/etc/systemd/system/iscsi-rootd.service.d/metrics.conf"
	mkdir -p "$rootfs/etc/iscsi-rootd.conf.d"
	printf '[Metrics]\nTextfileDirectory=/var/lib/prometheus/node-exporter\n' > "$rootfs/etc/iscsi-rootd.conf.d/60-metrics.conf"
	chroot "$rootfs" systemctl enable prometheus-node-exporter.service >> "$BUILD_LOG" 2>&1 ||
		die "systemctl enable prometheus-node-exporter.service failed in the guest (see $BUILD_LOG)"
	# The daemon's own /metrics (issue 20: live while the root is frozen), as docs/fleet says to enable it.
	chroot "$rootfs" systemctl enable iscsi-rootd-metrics.socket >> "$BUILD_LOG" 2>&1 ||
		die "systemctl enable iscsi-rootd-metrics.socket failed in the guest (see $BUILD_LOG)"
}

# E2E_BREAK=NAME breaks one feature in the image on purpose, to show that the scenario proving it fails
# (README: "Scenarios fail when the feature is broken").
break_feature() {
	local rootfs=$1
	case ${E2E_BREAK:-} in
	'') return 0 ;;
	daemon-masked) ln -sf /dev/null "$rootfs/etc/systemd/system/iscsi-rootd.service" ;;
	scheduler) printf '[Disk]\nScheduler=mq-deadline\n' > "$rootfs/etc/iscsi-rootd.conf.d/90-break.conf" ;;
	stall-threshold) printf '[Disk]\nStallThreshold=3600\n' > "$rootfs/etc/iscsi-rootd.conf.d/90-break.conf" ;;
	kernel-log)
		mkdir -p "$rootfs/etc/systemd/system/iscsi-rootd.service.d"
		printf '[Service]\nExecStart=\nExecStart=/usr/bin/iscsi-rootd run --kernel-log none\n' \
			> "$rootfs/etc/systemd/system/iscsi-rootd.service.d/90-break.conf"
		;;
	unhardened)
		mkdir -p "$rootfs/etc/systemd/system/iscsi-rootd.service.d"
		printf '%s\n' '[Service]' ProtectSystem=no ProtectHome=no PrivateTmp=no PrivateDevices=no NoNewPrivileges=no \
			SystemCallFilter= RestrictAddressFamilies= CapabilityBoundingSet=CAP_SYS_ADMIN \
			> "$rootfs/etc/systemd/system/iscsi-rootd.service.d/90-break.conf"
		;;
	keepconfiguration) sed -i '/^KeepConfiguration=/d' "$rootfs/etc/systemd/network/50-iscsi-root.network" ;;
	dropins)
		rm -r "$rootfs/etc/systemd/system/iscsid.service" "$rootfs/usr/lib/systemd/system/iscsid.service.d" \
			"$rootfs/usr/lib/systemd/system/iscsid.socket.d"
		;;
	*) die "unknown E2E_BREAK=$E2E_BREAK (daemon-masked scheduler stall-threshold kernel-log unhardened keepconfiguration dropins)" ;;
	esac
}

# Settings of the diskless client and the e2e agent.
configure_guest() {
	local rootfs=$1 unit
	echo e2e-client > "$rootfs/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 e2e-client\n' > "$rootfs/etc/hosts"
	echo "InitiatorName=$INITIATOR" > "$rootfs/etc/iscsi/initiatorname.iscsi"
	# No name server: nothing in the guest may reach beyond the host's 127.0.0.1.
	: > "$rootfs/etc/resolv.conf"
	chroot "$rootfs" passwd -d root > /dev/null
	# Timers that would reach the mirror or add noise to a short run.
	for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
		ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
	done
	install -D -m 0755 /bin/busybox "$rootfs/usr/local/lib/e2e/busybox"
	install -D -m 0755 "$E2E_DIR/guest/agent" "$rootfs/usr/local/lib/e2e/agent"
	install -D -m 0755 "$E2E_DIR/guest/tuned-delay" "$rootfs/usr/local/lib/e2e/tuned-delay"
	install -D -m 0755 "$E2E_DIR/guest/frozen-sampler" "$rootfs/usr/local/lib/e2e/frozen-sampler"
	install -D -m 0644 "$E2E_DIR/guest/e2e-agent.service" "$rootfs/etc/systemd/system/e2e-agent.service"
	mkdir -p "$rootfs/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/e2e-agent.service "$rootfs/etc/systemd/system/multi-user.target.wants/"
	# The journal in /run: it stays readable and keeps its timestamps while the root disk stalls or dies
	# (h-dead-root), and journald never blocks on the disk under test.
	mkdir -p "$rootfs/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' > "$rootfs/etc/systemd/journald.conf.d/50-e2e.conf"
	# A scheduler written into sysfs sends no uevent, so only the daemon's drift sweep sees it; every 2 s
	# instead of 60 s, so b-drift can wait for it.
	mkdir -p "$rootfs/etc/iscsi-rootd.conf.d"
	printf '[Disk]\nVerifyInterval=2\n' > "$rootfs/etc/iscsi-rootd.conf.d/50-e2e.conf"
}

# Copies only the guest's modules (350 MB for all of them) and indexes them.
install_modules() {
	local rootfs=$1 file modules=$KERNEL_DIR/lib/modules/$KERNEL_VERSION
	local target=$rootfs/lib/modules/$KERNEL_VERSION
	mkdir -p "$target"
	cp "$modules"/modules.order "$modules"/modules.builtin "$modules"/modules.builtin.modinfo "$target/"
	module_files "${GUEST_MODULES[@]}" | while read -r file; do
		install -D -m 0644 "$file" "$target/${file#"$modules"/}"
	done
	depmod -b "$rootfs" "$KERNEL_VERSION"
}

# A busybox initramfs (guest/init) with INITRAMFS_PROGRAMS and the libraries ldd lists for them.
build_initramfs() {
	local rootfs=$1 output=$2 tree file program path
	tree=$(dirname "$output")/initramfs
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,dev,proc,sys,newroot,lib/modules}
	install -m 0755 /bin/busybox "$tree/bin/busybox"
	install -m 0755 "$E2E_DIR/guest/init" "$tree/init"
	module_files "${INITRAMFS_MODULES[@]}" | while read -r file; do
		cp "$file" "$tree/lib/modules/"
		basename "$file" >> "$tree/load-order"
	done
	for program in "${INITRAMFS_PROGRAMS[@]}"; do
		path=$(chroot "$rootfs" sh -c "command -v $program") || die "no $program in the guest"
		for file in "$path" $(chroot "$rootfs" ldd "$path" | awk '/\// { print ($2 == "=>") ? $3 : $1 }'); do
			mkdir -p "$tree$(dirname "$file")"
			chroot "$rootfs" cat "$file" > "$tree$file"
			chmod 0755 "$tree$file"
		done
	done
	(cd "$tree" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$output"
	rm -rf "$tree"
}

# The image for this run, keyed by every input; sets IMAGE_DIR (vmlinuz, initrd.img, root.img).
build_image() {
	build_guest_image image "$BASE_DIR" setup_root_client
	IMAGE_DIR=$GUEST_IMAGE_DIR
}

# build_guest_image NAME BASE SETUP: a guest image from the root file system BASE, set up for its boot by the
# function SETUP ROOTFS, with the GUEST_MODULES, INITRAMFS_MODULES and INITRAMFS_PROGRAMS in force and its
# initramfs made by INITRAMFS_BUILDER ROOTFS OUTPUT (default build_initramfs); keyed by every input and cached
# as $CACHE/NAME-KEY (an older NAME-* is removed); sets GUEST_IMAGE_DIR.
build_guest_image() {
	local name=$1 base=$2 setup=$3 builder=${INITRAMFS_BUILDER:-build_initramfs} key stage
	key=$( {
		(cd "$E2E_DIR" && find run lib guest -type f | LC_ALL=C sort | xargs sha256sum)
		echo "base $base kernel $KERNEL_DEB initiator $INITIATOR break ${E2E_BREAK:-} setup $setup initramfs $builder"
		echo "modules ${GUEST_MODULES[*]} initramfs ${INITRAMFS_MODULES[*]} programs ${INITRAMFS_PROGRAMS[*]}"
		sha256sum /bin/busybox
		project_files
	} | sha256sum | cut -c1-16)
	GUEST_IMAGE_DIR=$CACHE/$name-$key
	if [[ -e $GUEST_IMAGE_DIR/.done ]]; then
		note "$name $key cached"
		return 0
	fi
	note "building $name $key"
	stage=$CACHE/stage.$$
	rm -rf "$stage"
	mkdir -p "$stage"
	cp -a "$base" "$stage/root"
	rm -f "$stage/root/.done"
	configure_guest "$stage/root"
	install_modules "$stage/root"
	install_project_into "$stage/root"
	"$setup" "$stage/root"
	break_feature "$stage/root"
	"$builder" "$stage/root" "$stage/initrd.img"
	mke2fs -q -t ext4 -d "$stage/root" -L root "$stage/root.img" "$IMAGE_SIZE" >> "$BUILD_LOG" 2>&1 ||
		die "mke2fs -d failed (see $BUILD_LOG)"
	cp "$KERNEL_DIR/boot/vmlinuz-$KERNEL_VERSION" "$stage/vmlinuz"
	rm -rf "$stage/root"
	find "$CACHE" -maxdepth 1 -name "$name-*" -exec rm -rf {} +
	mv "$stage" "$GUEST_IMAGE_DIR"
	touch "$GUEST_IMAGE_DIR/.done"
}

# build_package_layer NAME BASE PACKAGE...: the root file system BASE plus PACKAGEs and what they need, for a guest
# that needs more than the base: the host's apt resolves them against BASE's dpkg status and downloads them into a
# directory of their own (debootstrap left BASE's packages in /var/cache/apt/archives), dpkg installs them in a
# chroot (~5 s; a second debootstrap takes ~40 s). Keyed by BASE and the package list and cached as
# $CACHE/NAME-KEY (an older one is removed); sets LAYER_DIR.
build_package_layer() {
	local name=$1 base=$2 key dir
	shift 2
	key=$(printf '%s\n' "$base" "$@" | sha256sum | cut -c1-16)
	LAYER_DIR=$CACHE/$name-$key
	[[ -e $LAYER_DIR/.done ]] && return 0
	note "$name: $* added to $(basename "$base")"
	dir=$LAYER_DIR.tmp
	rm -rf "$dir"
	cp -a "$base" "$dir"
	rm -f "$dir/.done"
	mkdir -p "$dir/tmp/layer-debs/partial"
	timeout 600 apt-get install --download-only --no-install-recommends -y -q \
		-o Dir::State::status="$dir/var/lib/dpkg/status" -o Dir::Cache::archives="$dir/tmp/layer-debs" \
		-o APT::Sandbox::User=root "$@" >> "$BUILD_LOG" 2>&1 ||
		die "apt-get could not download $* for the guest (see $BUILD_LOG)"
	chroot "$dir" sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/layer-debs/*.deb' >> "$BUILD_LOG" 2>&1 ||
		die "dpkg -i $* failed in the guest (see $BUILD_LOG)"
	rm -rf "$dir/tmp/layer-debs"
	# The older layers of this name: NAME- and a 16-digit key, nothing longer (another layer's name may start with NAME-).
	find "$CACHE" -maxdepth 1 -name "$name-????????????????" -exec rm -rf {} +
	mv "$dir" "$LAYER_DIR"
	touch "$LAYER_DIR/.done"
}
