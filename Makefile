# SPDX-License-Identifier: GPL-2.0
#
# make            build etp.ko for the running kernel
# make KDIR=DIR   build against another kernel's build tree
# make install    install into /lib/modules/$(uname -r)/extra
# make check      W=1 and sparse (C=2) build of the module
# make style      checkpatch.pl --strict over mod/ (KDIR must hold scripts/)
# make userspace  build the tools in userspace/
# make clean
#
# Installing (see also dkms.conf and debian/):
# make install-tools     install the tools, their man pages and the Wireshark
#                        plugin (userspace/Makefile: PREFIX=/usr/local, DESTDIR,
#                        BINDIR, MANDIR, WIRESHARK_LUADIR); uninstall-tools
# make install-dkms-src  copy the module's sources and dkms.conf to
#                        $(DESTDIR)/usr/src/etp-VERSION, where dkms add, build
#                        and install find them (`dkms add .` does the same)
# make version           print VERSION, ETP's version (PACKAGE_VERSION in dkms.conf)

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(CURDIR)
CHECKPATCH ?= $(KDIR)/scripts/checkpatch.pl
ETP_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(CURDIR)/dkms.conf)
DKMS_SRCDIR := /usr/src/etp-$(ETP_VERSION)
# What DKMS needs to build etp.ko: the build files and the module's sources.
DKMS_FILES := Makefile Kbuild dkms.conf $(wildcard mod/*.c mod/*.h) \
	$(wildcard mod/include/uapi/linux/*.h)

all: module

module:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

install: module
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install

check:
	$(MAKE) -C $(KDIR) M=$(PWD) W=1 C=2 CF=-D__CHECK_ENDIAN__ modules

# compat.h is where kernel versions are compared and where a macro drops an
# argument that one kernel needs and another does not: checkpatch's rules
# against exactly that are off for it, and only for it.
CHECKPATCH_FLAGS := --strict --no-tree --show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG

style:
	$(CHECKPATCH) $(CHECKPATCH_FLAGS) -f $(filter-out mod/compat.h,$(wildcard mod/*.c mod/*.h)) \
		mod/include/uapi/linux/*.h
	$(CHECKPATCH) $(CHECKPATCH_FLAGS),LINUX_VERSION_CODE,CONSTANT_COMPARISON,MACRO_ARG_UNUSED \
		-f mod/compat.h

userspace:
	$(MAKE) -C userspace

install-tools:
	$(MAKE) -C userspace install

uninstall-tools:
	$(MAKE) -C userspace uninstall

install-dkms-src:
	for f in $(DKMS_FILES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DKMS_SRCDIR)/$$f || exit 1; \
	done

version:
	@echo $(ETP_VERSION)

# The DKMS copy in /usr/src has no userspace/.
clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean || true
	[ ! -d userspace ] || $(MAKE) -C userspace clean

.PHONY: all module install check style userspace clean install-tools uninstall-tools \
	install-dkms-src version
