# SPDX-License-Identifier: GPL-2.0
#
# make            build etp.ko for the running kernel
# make KDIR=DIR   build against another kernel's build tree
# make install    install into /lib/modules/$(uname -r)/extra
# make check      W=1 and sparse (C=2) build of the module
# make style      checkpatch.pl --strict over mod/ (KDIR must hold scripts/)
# make userspace  build the tools in userspace/
# make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(CURDIR)
CHECKPATCH ?= $(KDIR)/scripts/checkpatch.pl

all: module

module:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

install: module
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install

check:
	$(MAKE) -C $(KDIR) M=$(PWD) W=1 C=2 CF=-D__CHECK_ENDIAN__ modules

style:
	$(CHECKPATCH) --strict --no-tree --show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		-f mod/*.c mod/*.h mod/include/uapi/linux/*.h

userspace:
	$(MAKE) -C userspace

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean || true
	$(MAKE) -C userspace clean || true

.PHONY: all module install check style userspace clean
