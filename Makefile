# socklab: build, install, docs. Nothing here is needed to develop
# (go build / go test do that); it is what a packager or an install uses.
#
#   make                      build ./socklab
#   make install              install binary, man pages and completions
#   make install PREFIX=$HOME/.local
#   make install DESTDIR=/tmp/pkg PREFIX=/usr   (staged, for packaging)
#   make docs                 regenerate docs/ (go generate ./...)

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
BASHDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHDIR ?= $(PREFIX)/share/fish/vendor_completions.d
GO      ?= go
INSTALL ?= install

.PHONY: all build docs install uninstall test clean

all: build

# Static (no cgo): nothing needs it, and each start skips ld.so and libc.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o socklab ./cmd/socklab

docs:
	$(GO) generate ./...

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(BASHDIR) $(DESTDIR)$(ZSHDIR) $(DESTDIR)$(FISHDIR)
	$(INSTALL) -m 0755 socklab $(DESTDIR)$(BINDIR)/socklab
	$(INSTALL) -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/
	$(INSTALL) -m 0644 docs/completions/socklab.bash $(DESTDIR)$(BASHDIR)/socklab
	$(INSTALL) -m 0644 docs/completions/socklab.zsh $(DESTDIR)$(ZSHDIR)/_socklab
	$(INSTALL) -m 0644 docs/completions/socklab.fish $(DESTDIR)$(FISHDIR)/socklab.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/socklab $(DESTDIR)$(MANDIR)/socklab.1 $(DESTDIR)$(MANDIR)/socklab-*.1
	rm -f $(DESTDIR)$(BASHDIR)/socklab $(DESTDIR)$(ZSHDIR)/_socklab $(DESTDIR)$(FISHDIR)/socklab.fish

test:
	bash .ci/run

clean:
	rm -f socklab
