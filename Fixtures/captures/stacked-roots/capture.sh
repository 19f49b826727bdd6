#!/bin/sh
# Captures what overlayfs and loop devices show in mountinfo and sysfs, on the running kernel.
# Run as root: `Fixtures/captures/stacked-roots/capture.sh > Fixtures/captures/stacked-roots/overlay-loop.txt`.
# It makes a scratch directory with an ext4 image file, attaches it to a free loop device, mounts
# it, mounts a tmpfs, and mounts two overlays over them (one with an upper layer, one read-only)
# whose layer names hold a comma, a colon and a space; it prints their mountinfo lines and every
# attribute of the loop device's loop/ directory, deletes the image file while attached and prints
# backing_file again, then undoes everything.
set -eu
dir=$(mktemp -d /tmp/stacked-roots.XXXXXX)
cd "$dir"
truncate -s 64M 'image file.ext4'
mkfs.ext4 -q 'image file.ext4'
loop=$(losetup -f --show 'image file.ext4')
name=${loop#/dev/}
mkdir 'lower,1' 'lo:w2' up merged ro
mount "$loop" 'lower,1'
mount -t tmpfs tmpfs up
mkdir up/upper up/work
mount -t overlay overlay -o "lowerdir=$dir/lower\\,1:$dir/lo\\:w2,upperdir=$dir/up/upper,workdir=$dir/up/work" merged
mount -t overlay overlay -o "lowerdir=$dir/lower\\,1:$dir/lo\\:w2" ro
echo "## uname -r"
uname -r
echo "## scratch directory"
echo "$dir"
echo "## mountinfo lines under it (proc/self/mountinfo)"
grep -F " $dir" /proc/self/mountinfo
echo "## /sys/class/block/$name link"
readlink "/sys/class/block/$name"
echo "## /sys/class/block/$name/dev"
cat "/sys/class/block/$name/dev"
echo "## /sys/class/block/$name entries"
ls "/sys/class/block/$name"
echo "## /sys/class/block/$name/loop attributes"
for attribute in "/sys/class/block/$name"/loop/*; do
    printf '%s: ' "${attribute##*/}"
    cat "$attribute"
done
rm 'image file.ext4'
echo "## /sys/class/block/$name/loop/backing_file after the image file was deleted"
cat "/sys/class/block/$name/loop/backing_file"
umount ro merged up 'lower,1'
losetup -d "$loop"
cd /
rm -r "$dir"
