#!/bin/sh
# On the host that collects the clients' journals (systemd-journal-remote): every client whose root iSCSI
# session failed since SINCE (default: in the last day), with how many times, most first. It matches the
# entries' fields, not their text: MESSAGE_ID of "iSCSI session failed; I/O waits for recovery" and ROOT=1
# (the session carries /, /usr or swap), and prints each entry's _HOSTNAME.
#   failed-root-sessions.sh [DIRECTORY [SINCE]]     defaults: /var/log/journal/remote -1d
set -eu
directory=${1:-/var/log/journal/remote}
since=${2:--1d}
journalctl --quiet --directory="$directory" --since="$since" --output=cat --output-fields=_HOSTNAME \
	MESSAGE_ID=b26819d095504639985c4baf20032191 ROOT=1 | sort | uniq -c | sort -k1,1nr -k2
