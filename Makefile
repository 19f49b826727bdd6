# Build and install iscsi-rootd.
#   make                      swift build -c release
#   make install              into $(DESTDIR)$(PREFIX) (PREFIX=/usr/local unless given)
#   make install-initcpio     the mkinitcpio hooks (Arch): iscsi (busybox init), sd-iscsi (systemd)
# Packagers: make install DESTDIR="$pkgdir" PREFIX=/usr
#
# By default the binary carries the Swift runtime, libstdc++ and libgcc (STATIC_RUNTIME=yes): a diskless
# client needs only libc, libudev and libsystemd, no Swift toolchain. STATIC_RUNTIME=no links them
# dynamically (the runtime is then found through the toolchain's path: for development only).

PREFIX        ?= /usr/local
SYSCONFDIR    ?= /etc
BINDIR        ?= $(PREFIX)/bin
LIBDIR        ?= $(PREFIX)/lib
UNITDIR       ?= $(LIBDIR)/systemd/system
CATALOGDIR    ?= $(LIBDIR)/systemd/catalog
UDEVRULESDIR  ?= $(LIBDIR)/udev/rules.d
# mkinitcpio reads hooks only from /etc/initcpio and /usr/lib/initcpio: a /usr/local install goes to /etc.
INITCPIODIR   ?= $(if $(filter /usr,$(PREFIX)),$(LIBDIR)/initcpio,$(SYSCONFDIR)/initcpio)
DATADIR       ?= $(PREFIX)/share
MANDIR        ?= $(DATADIR)/man
DOCDIR        ?= $(DATADIR)/doc/iscsi-rootd
BASHCOMPDIR   ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR    ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR   ?= $(DATADIR)/fish/vendor_completions.d

SWIFT         ?= swift
SCRATCH       ?= .build
# debug only for quick install tests; packages use release.
CONFIGURATION ?= release
SWIFT_FLAGS   ?=
STATIC_RUNTIME ?= yes
# Set to no to install without shell completions (they come from the built binary).
COMPLETIONS   ?= yes

INSTALL       ?= install
# Swift's static link line names -lstdc++; a directory holding only libstdc++.a, searched before the
# compiler's own, makes the linker take the archive.
STATIC_LIBS   = $(abspath $(SCRATCH))/static-libs
ifeq ($(STATIC_RUNTIME),yes)
RUNTIME_FLAGS = --static-swift-stdlib -Xswiftc -L -Xswiftc $(STATIC_LIBS) -Xswiftc -Xclang-linker -Xswiftc -static-libgcc
endif
# once NAME,VALUE: VALUE (a $(shell …) as a rule), worked out the first time NAME is used and kept: never while make
# reads this file (make uninstall or install-initcpio runs no probe), never twice.
once = $(eval $(1) := $(2))$($(1))
# Packed relative relocations (DT_RELR, linked by lld, which Swift toolchains ship): about 0.7 MB less for the
# daemon to lock with mlockall. The binary then needs glibc 2.36 or later, so only when the build host has it (a
# package is built on the release it targets) and lld is there; RELR=no turns it off.
GLIBC_VERSION = $(call once,GLIBC_VERSION,$(shell getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc //p'))
LLD           = $(call once,LLD,$(or $(shell command -v ld.lld 2>/dev/null),$(wildcard $(dir $(realpath $(shell command -v $(SWIFT) 2>/dev/null)))ld.lld)))
RELR          ?= $(if $(and $(GLIBC_VERSION),$(LLD)),$(shell printf '2.36\n%s\n' '$(GLIBC_VERSION)' | sort -V -C && echo yes),no)
LINK_FLAGS    = $(if $(filter yes,$(RELR)),-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
BUILD         = $(SWIFT) build -c $(CONFIGURATION) --scratch-path $(SCRATCH) $(RUNTIME_FLAGS) $(LINK_FLAGS) $(SWIFT_FLAGS)
# Where swift build puts the programs: asked once (it takes a second or more), however often it is used.
BIN_PATH      = $(call once,BIN_PATH,$(shell $(BUILD) --show-bin-path))
BINARY        = $(BIN_PATH)/iscsi-rootd
# The daemon's own executable (`iscsi-rootd run` executes it from the same directory): no Foundation,
# no ArgumentParser, no regex engine, no Swift concurrency started, so what it locks with mlockall stays small.
DAEMON        = $(BIN_PATH)/iscsi-rootd-daemon
CATALOG       = $(wildcard systemd/catalog/iscsi-rootd.catalog)
# What `make build` builds (scripts/benchmark adds iscsi-rootd-sim, with the same flags).
PRODUCTS      ?= iscsi-rootd iscsi-rootd-daemon

.PHONY: all build show-bin-path install install-initcpio uninstall

all: build

build:
ifeq ($(STATIC_RUNTIME),yes)
	@libstdcxx=$$($(CC) -print-file-name=libstdc++.a); \
	case $$libstdcxx in /*) ;; *) echo "$(CC) finds no libstdc++.a (install the C++ compiler's static library, or STATIC_RUNTIME=no)" >&2; exit 1 ;; esac; \
	mkdir -p "$(STATIC_LIBS)" && ln -sf "$$libstdcxx" "$(STATIC_LIBS)/libstdc++.a"
endif
	for product in $(PRODUCTS); do $(BUILD) --product $$product || exit 1; done

# Where the built programs are (scripts/benchmark measures them as installed).
show-bin-path:
	@echo $(BIN_PATH)

install: build
	$(INSTALL) -Dm755 "$(BINARY)" "$(DESTDIR)$(BINDIR)/iscsi-rootd"
	$(INSTALL) -Dm755 "$(DAEMON)" "$(DESTDIR)$(BINDIR)/iscsi-rootd-daemon"
	# systemd: the service and the drop-ins that keep iscsid through shutdown
	# the unit names the binary where this PREFIX puts it
	$(INSTALL) -d "$(DESTDIR)$(UNITDIR)"
	sed 's|/usr/bin/iscsi-rootd|$(BINDIR)/iscsi-rootd|' systemd/iscsi-rootd.service > "$(DESTDIR)$(UNITDIR)/iscsi-rootd.service"
	chmod 644 "$(DESTDIR)$(UNITDIR)/iscsi-rootd.service"
	# the metrics endpoint's socket: installed, not enabled (it opens a TCP port)
	$(INSTALL) -Dm644 systemd/iscsi-rootd-metrics.socket "$(DESTDIR)$(UNITDIR)/iscsi-rootd-metrics.socket"
	$(INSTALL) -Dm644 systemd/iscsid.service.d/iscsi-rootd.conf "$(DESTDIR)$(UNITDIR)/iscsid.service.d/iscsi-rootd.conf"
	$(INSTALL) -Dm644 systemd/iscsid.socket.d/iscsi-rootd.conf "$(DESTDIR)$(UNITDIR)/iscsid.socket.d/iscsi-rootd.conf"
	$(if $(CATALOG),$(INSTALL) -Dm644 $(CATALOG) "$(DESTDIR)$(CATALOGDIR)/iscsi-rootd.catalog")
	$(INSTALL) -Dm644 udev/70-iscsi-rootd.rules "$(DESTDIR)$(UDEVRULESDIR)/70-iscsi-rootd.rules"
	# configuration: never overwrite an administrator's file
	test -e "$(DESTDIR)$(SYSCONFDIR)/iscsi-rootd.conf" || \
		$(INSTALL) -Dm644 etc/iscsi-rootd.conf "$(DESTDIR)$(SYSCONFDIR)/iscsi-rootd.conf"
	$(INSTALL) -Dm644 docs/iscsi-rootd.8 "$(DESTDIR)$(MANDIR)/man8/iscsi-rootd.8"
	$(INSTALL) -Dm644 docs/iscsi-rootd.conf.5 "$(DESTDIR)$(MANDIR)/man5/iscsi-rootd.conf.5"
	# examples for the parts a package must not activate by itself
	$(INSTALL) -Dm644 -t "$(DESTDIR)$(DOCDIR)/examples" etc/iscsi-rootd.conf systemd/examples/iscsid.service \
		systemd/examples/50-iscsi-root.network systemd/examples/50-iscsi-root-ibft.network systemd/examples/fstab \
		initramfs/dracut-iscsi-rootd.conf initramfs/iscsi.initramfs
	$(INSTALL) -Dm755 systemd/examples/iscsi-root-node.sh "$(DESTDIR)$(DOCDIR)/examples/iscsi-root-node.sh"
	$(INSTALL) -Dm644 systemd/examples/iscsi-rootd.service.d/metrics.conf \
		"$(DESTDIR)$(DOCDIR)/examples/iscsi-rootd.service.d/metrics.conf"
	# the fleet view: alerting rules and their tests, Grafana dashboard, journal forwarding (docs/fleet)
	$(INSTALL) -Dm644 -t "$(DESTDIR)$(DOCDIR)/fleet" docs/fleet/README.md docs/fleet/iscsi-rootd.rules.yml \
		docs/fleet/iscsi-rootd.rules.test.yml docs/fleet/grafana-dashboard.json
	$(INSTALL) -Dm755 docs/fleet/failed-root-sessions.sh "$(DESTDIR)$(DOCDIR)/fleet/failed-root-sessions.sh"
	$(INSTALL) -Dm644 docs/fleet/journal-upload.conf.d/50-fleet.conf \
		"$(DESTDIR)$(DOCDIR)/fleet/journal-upload.conf.d/50-fleet.conf"
	$(INSTALL) -Dm644 docs/fleet/systemd-journal-upload.service.d/50-fleet.conf \
		"$(DESTDIR)$(DOCDIR)/fleet/systemd-journal-upload.service.d/50-fleet.conf"
ifeq ($(COMPLETIONS),yes)
	$(INSTALL) -d "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	"$(BINARY)" --generate-completion-script bash > "$(DESTDIR)$(BASHCOMPDIR)/iscsi-rootd"
	"$(BINARY)" --generate-completion-script zsh > "$(DESTDIR)$(ZSHCOMPDIR)/_iscsi-rootd"
	"$(BINARY)" --generate-completion-script fish > "$(DESTDIR)$(FISHCOMPDIR)/iscsi-rootd.fish"
endif
ifeq ($(DESTDIR),)
	$(if $(CATALOG),journalctl --update-catalog)
	-systemctl daemon-reload
	-udevadm control --reload
endif

# iscsi-rootd/ holds what install/sd-iscsi puts into a systemd initramfs (with the modes it needs there).
install-initcpio:
	$(INSTALL) -Dm644 packaging/arch/initcpio/install/iscsi "$(DESTDIR)$(INITCPIODIR)/install/iscsi"
	$(INSTALL) -Dm644 packaging/arch/initcpio/hooks/iscsi "$(DESTDIR)$(INITCPIODIR)/hooks/iscsi"
	$(INSTALL) -Dm644 packaging/arch/initcpio/install/sd-iscsi "$(DESTDIR)$(INITCPIODIR)/install/sd-iscsi"
	$(INSTALL) -Dm644 -t "$(DESTDIR)$(INITCPIODIR)/iscsi-rootd" packaging/arch/initcpio/sd-iscsi/iscsi-rootd-initrd \
		packaging/arch/initcpio/sd-iscsi/iscsi-rootd-initrd-login.service packaging/arch/initcpio/sd-iscsi/iscsi-rootd-initrd-apply.service

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/iscsi-rootd" "$(DESTDIR)$(BINDIR)/iscsi-rootd-daemon" "$(DESTDIR)$(UNITDIR)/iscsi-rootd.service" \
		"$(DESTDIR)$(UNITDIR)/iscsi-rootd-metrics.socket" \
		"$(DESTDIR)$(UNITDIR)/iscsid.service.d/iscsi-rootd.conf" "$(DESTDIR)$(UNITDIR)/iscsid.socket.d/iscsi-rootd.conf" \
		"$(DESTDIR)$(CATALOGDIR)/iscsi-rootd.catalog" "$(DESTDIR)$(UDEVRULESDIR)/70-iscsi-rootd.rules" \
		"$(DESTDIR)$(MANDIR)/man8/iscsi-rootd.8" "$(DESTDIR)$(MANDIR)/man5/iscsi-rootd.conf.5" \
		"$(DESTDIR)$(BASHCOMPDIR)/iscsi-rootd" "$(DESTDIR)$(ZSHCOMPDIR)/_iscsi-rootd" \
		"$(DESTDIR)$(FISHCOMPDIR)/iscsi-rootd.fish" \
		"$(DESTDIR)$(INITCPIODIR)/install/iscsi" "$(DESTDIR)$(INITCPIODIR)/hooks/iscsi" \
		"$(DESTDIR)$(INITCPIODIR)/install/sd-iscsi"
	rm -rf "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(INITCPIODIR)/iscsi-rootd"
