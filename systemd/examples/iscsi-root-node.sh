#!/bin/sh
# Set the node record of the iSCSI root the way a root disk needs it (run once, as root).
# Usage: iscsi-root-node.sh TARGET_IQN PORTAL[:PORT]
#   node.startup = onboot    `iscsiadm -m node --logoutall=...` (and the distributions' shutdown
#                            scripts built on it) never log out an onboot node: the root session stays.
#   noop_out_interval = 0    no NOP-Out pings, so a busy or briefly stalled link is never declared dead;
#   noop_out_timeout = 0     the SCSI timeout and replacement_timeout decide instead.
#   replacement_timeout      I/O on the root waits (up to a day) for the session to come back instead of
#     = 86400                failing after the default 120 s and killing the root file system.
set -eu
if [ "$#" -ne 2 ]; then
	echo "usage: $0 TARGET_IQN PORTAL[:PORT]" >&2
	exit 2
fi
target=$1
portal=$2
for setting in \
	node.startup=onboot \
	node.conn[0].startup=onboot \
	node.conn[0].timeo.noop_out_interval=0 \
	node.conn[0].timeo.noop_out_timeout=0 \
	node.session.timeo.replacement_timeout=86400
do
	iscsiadm -m node -T "$target" -p "$portal" -o update -n "${setting%%=*}" -v "${setting#*=}"
done
